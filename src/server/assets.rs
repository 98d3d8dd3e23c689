//! How the bundle travels light: files under `/pkg` are served as the build compressed them and
//! cached for a year when their name carries their content's hash; every other answer but the
//! live stream is compressed on the fly.

use std::path::{Path, PathBuf};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::Response,
};
use leptos::prelude::LeptosOptions;
use tower_http::{
    compression::{CompressionLayer, CompressionLevel, DefaultPredicate},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
};

/// For a file whose name changes with its content: any copy anywhere stays right forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For a file whose name stays when its content changes: a copy must be checked before use.
const REVALIDATE: &str = "no-cache";
/// The length of the content hash cargo-leptos puts in a name (MD5, unpadded base64url).
const HASH_LEN: usize = 22;

/// Why the server refuses to start with the site it was given.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// A bundle file the pages would link is not in the site.
    #[error(
        "{missing} is not there, so every page would load without its script and styles: the site at {site_root} does not match this binary ({why}); build both with `cargo leptos build` (or `scripts/release`, which copies hash.txt into dist/)"
    )]
    SiteOutOfStep {
        /// The bundle file that should be there.
        missing: PathBuf,
        /// The site root in use (`LEPTOS_SITE_ROOT`).
        site_root: String,
        /// What named the file: the hash file, or its absence.
        why: String,
    },
    /// The hash file exists but cannot be read, or lacks a name the pages link.
    #[error("the build's hash file {path} is unusable: {reason}; build again with `cargo leptos build`")]
    Unusable {
        /// The hash file next to the binary.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Turns on hashed asset names when the build wrote its hash file next to this binary
/// (cargo-leptos' `hash-files`), so that pages link `sessionguard.<hash>.wasm` and friends, and
/// checks that the site holds every bundle file the pages will link (the script, the
/// WebAssembly and the stylesheet): a site that does not match the binary would otherwise
/// serve pages that never come to life. Without the hash file the names stay plain.
pub fn use_hashed_names(options: &mut LeptosOptions) -> Result<(), AssetsError> {
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let out_of_step =
        |missing: PathBuf, why: &str| AssetsError::SiteOutOfStep { missing, site_root: options.site_root.to_string(), why: why.to_owned() };
    let hash_file = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
    let Some(hash_file) = hash_file.filter(|path| path.exists()) else {
        let plain = pkg.join(format!("{}.wasm", options.output_name));
        if !plain.exists() {
            return Err(out_of_step(plain, "there is no hash.txt next to the binary, so the names are plain"));
        }
        options.hash_files = false;
        return Ok(());
    };
    let unusable = |reason: String| AssetsError::Unusable { path: hash_file.clone(), reason };
    let hashes = std::fs::read_to_string(&hash_file).map_err(|e| unusable(e.to_string()))?;
    for extension in ["js", "wasm", "css"] {
        let hash = hashes
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find_map(|(key, hash)| (key.trim() == extension).then(|| hash.trim()))
            .filter(|hash| is_hash(hash))
            .ok_or_else(|| unusable(format!("it names no {extension} file")))?;
        let file = pkg.join(format!("{}.{hash}.{extension}", options.output_name));
        if !file.exists() {
            return Err(out_of_step(file, &format!("named by {}", hash_file.display())));
        }
    }
    options.hash_files = true;
    Ok(())
}

/// Serves `options`' package directory (`/pkg`): the `.br` or `.gz` the build wrote next to a
/// file when the browser accepts it (nothing is compressed per request; without them, the
/// compression layer does it), and `Cache-Control` by name: a year and `immutable` for a name
/// that carries its content's hash, `no-cache` for any other ([`vary_on_encoding`] adds the
/// `Vary`).
pub fn package_files<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(pkg).precompressed_br().precompressed_gzip();
    let output_name = options.output_name.to_string();
    Router::new().fallback_service(files).layer(middleware::from_fn(move |request: Request, next: Next| {
        let hashed = request.uri().path().rsplit('/').next().is_some_and(|name| is_content_addressed(name, &output_name));
        async move {
            let mut response: Response = next.run(request).await;
            if response.status().is_success() || response.status() == axum::http::StatusCode::NOT_MODIFIED {
                let policy = if hashed { IMMUTABLE } else { REVALIDATE };
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
            }
            response
        }
    }))
}

/// Whether `name` is `<output_name>.<hash>.<extension>`, the shape cargo-leptos gives a bundle file
/// whose name changes with its content.
fn is_content_addressed(name: &str, output_name: &str) -> bool {
    let Some(rest) = name.strip_prefix(output_name).and_then(|rest| rest.strip_prefix('.')) else {
        return false;
    };
    let Some((hash, extension)) = rest.split_once('.') else {
        return false;
    };
    is_hash(hash) && matches!(extension, "js" | "wasm" | "css")
}

/// Whether `text` has the shape of cargo-leptos' content hash.
fn is_hash(text: &str) -> bool {
    text.len() == HASH_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Vary: Accept-Encoding` on every answer that has no `Vary` yet. The compression layer says so
/// only for what it compresses itself; a file the build compressed (the bundle under `/pkg`, and
/// the public files Leptos' fallback serves, also from their `.br` and `.gz`) is picked by
/// `Accept-Encoding` too, and without it a shared cache could hand a brotli body to a browser
/// that cannot read it.
pub fn vary_on_encoding() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(header::VARY, HeaderValue::from_static("accept-encoding"))
}

/// Compresses every other answer the browser accepts compressed, at the fastest level, so that a
/// request pays little for it: pages, API answers, and a bundle the build left uncompressed
/// (debug builds). tower-http's default predicate leaves out `text/event-stream` (the live
/// stream, which must reach the tab event by event), images, answers under 32 bytes, and
/// answers already compressed.
pub fn compression() -> CompressionLayer<DefaultPredicate> {
    CompressionLayer::new().br(true).gzip(true).quality(CompressionLevel::Fastest)
}

#[cfg(test)]
mod tests {
    use super::is_content_addressed;

    #[test]
    fn only_a_bundle_file_named_by_its_hash_counts_as_content_addressed() {
        assert!(is_content_addressed("sessionguard.Ab3_-xYz0123456789AbCd.wasm", "sessionguard"));
        assert!(is_content_addressed("sessionguard.Ab3_-xYz0123456789AbCd.css", "sessionguard"));
        assert!(!is_content_addressed("sessionguard.wasm", "sessionguard"));
        assert!(!is_content_addressed("sessionguard_bg.wasm", "sessionguard"));
        assert!(!is_content_addressed("sessionguard.short.js", "sessionguard"));
        assert!(!is_content_addressed("sessionguard.Ab3_-xYz0123456789AbCd.html", "sessionguard"));
        assert!(!is_content_addressed("other.Ab3_-xYz0123456789AbCd.js", "sessionguard"));
    }
}
