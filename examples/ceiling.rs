//! The database ceiling for `bench/run`: `find_one({_id})` by the same Rust driver the app
//! uses, from several tasks at once, for a fixed time, with no application in the way. Prints
//! `CEILING <finds> <seconds>`.
//!
//! Usage: `ceiling URI DATABASE COLLECTION SECONDS` (the collection must hold a document).

use std::time::{Duration, Instant};

use mongodb::{
    Client,
    bson::{Document, doc},
};

/// As many requests in flight as the page workload's connections.
const TASKS: usize = 32;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let [uri, database, collection, seconds] =
        std::env::args().skip(1).collect::<Vec<_>>().try_into().map_err(|_| "usage: ceiling URI DATABASE COLLECTION SECONDS")?;
    let collection = Client::with_uri_str(&uri).await?.database(&database).collection::<Document>(&collection);
    let key = collection
        .find_one(doc! {})
        .projection(doc! { "_id": 1 })
        .await?
        .ok_or("the collection is empty")?
        .get("_id")
        .cloned()
        .ok_or("no _id")?;
    let deadline = Instant::now() + Duration::from_secs(seconds.parse()?);
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (collection, key) = (collection.clone(), key.clone());
            tokio::spawn(async move {
                let mut finds = 0_u64;
                while Instant::now() < deadline {
                    collection.find_one(doc! { "_id": &key }).await?;
                    finds += 1;
                }
                Ok::<_, mongodb::error::Error>(finds)
            })
        })
        .collect();
    let mut finds = 0;
    for task in tasks {
        finds += task.await??;
    }
    println!("CEILING {finds} {:.3}", started.elapsed().as_secs_f64());
    Ok(())
}
