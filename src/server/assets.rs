//! How answers travel light: compressed with brotli or gzip, as the browser accepts, except the
//! live stream, which compression would buffer.

use tower_http::compression::{CompressionLayer, CompressionLevel, DefaultPredicate};

/// Compresses every answer the browser accepts compressed, at the fastest level, so that a
/// request pays little for it: pages, API answers, and the WebAssembly and JavaScript bundle
/// (until the build compresses them ahead of time). tower-http's default predicate leaves out
/// `text/event-stream` (the live stream, which must reach the tab event by event), images,
/// and answers under 32 bytes.
pub fn compression() -> CompressionLayer<DefaultPredicate> {
    CompressionLayer::new().br(true).gzip(true).quality(CompressionLevel::Fastest)
}
