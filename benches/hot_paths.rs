//! Micro-benchmarks of the hot paths: canonical JSON, parsing metadata, signature checks,
//! hashing, and parsing the signed manifest and inventories.
//!
//!     cargo bench --bench hot_paths
//!
//! The inputs are made at start: a Bottlerocket-shaped targets.json of 1,000 targets signed with
//! the demo RSA-3072 key, 16 MiB to hash, the demo manifest and 10,000 kubectl nodes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use tufwatch::engine::strict::keys::Key;
use tufwatch::engine::strict::metadata::{parse, Envelope, Targets};
use tufwatch::testkit::{Repo, RoleKeys, SigningKey};

fn fixture(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn demo_key(name: &str) -> SigningKey {
    let text = String::from_utf8(fixture(&format!("fixtures/demo-keys/{name}.pem"))).unwrap();
    SigningKey::from_pem(&text).unwrap()
}

/// A signed targets.json with `n` targets, and the key that signed it.
fn targets_json(n: usize) -> (Vec<u8>, SigningKey) {
    let mut repo = Repo::new(
        RoleKeys {
            keys: vec![demo_key("root-1")],
            threshold: 1,
        },
        demo_key("timestamp"),
        demo_key("snapshot"),
        demo_key("targets"),
        chrono::Utc::now(),
    );
    repo.sha512 = false;
    for i in 0..n {
        repo.add_target(
            &format!("bottlerocket-aws-k8s-1.31-x86_64-1.26.{i}-c41a8f09-root.ext4.lz4"),
            format!("target {i}").into_bytes(),
        );
    }
    let files = repo.sign_top().unwrap();
    let (_, bytes) = files
        .into_iter()
        .find(|(name, _)| name.ends_with("targets.json"))
        .unwrap();
    (bytes, demo_key("targets"))
}

fn metadata(c: &mut Criterion) {
    let (bytes, key) = targets_json(1000);
    let text = String::from_utf8(bytes.clone()).unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let signed = doc["signed"].to_string();
    let mut g = c.benchmark_group("metadata, 1,000 targets");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("canonical JSON of signed", |b| {
        b.iter(|| tufwatch::engine::canonical::canonicalize(black_box(&signed)).unwrap())
    });
    g.bench_function("strict engine: parse targets.json", |b| {
        b.iter(|| parse(black_box(&bytes), Targets::parse).unwrap())
    });
    g.bench_function("tough schema: parse targets.json", |b| {
        b.iter(|| {
            serde_json::from_str::<tough::schema::Signed<tough::schema::Targets>>(black_box(&text))
                .unwrap()
        })
    });
    g.finish();

    let envelope = Envelope::parse(&bytes).unwrap();
    let (_, sig) = envelope.signatures.iter().next().unwrap();
    let public = key.public().as_object().unwrap().clone();
    let rsa = Key::parse(&public, "keys").unwrap();
    let ed = SigningKey::generate_ed25519().unwrap();
    let ed_sig = ed.sign(&envelope.canonical).unwrap();
    let ed_key = Key::parse(ed.public().as_object().unwrap(), "keys").unwrap();
    let mut g = c.benchmark_group("signature check");
    g.bench_function("rsassa-pss-sha256, RSA-3072", |b| {
        b.iter(|| assert!(rsa.verifies(black_box(&envelope.canonical), black_box(sig))))
    });
    g.bench_function("ed25519", |b| {
        b.iter(|| assert!(ed_key.verifies(black_box(&envelope.canonical), black_box(&ed_sig))))
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let data = vec![0x5au8; 16 << 20];
    let mut g = c.benchmark_group("hashing 16 MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for algs in [&["sha256"][..], &["sha512"], &["sha256", "sha512"]] {
        g.bench_function(algs.join("+"), |b| {
            b.iter(|| {
                let (mut h, _) = tufwatch::digest::MultiHasher::new(algs.iter().copied());
                for chunk in data.chunks(64 << 10) {
                    h.update(black_box(chunk));
                }
                h.finish()
            })
        });
    }
    g.finish();
}

fn releases_and_fleet(c: &mut Criterion) {
    let manifest = fixture("fixtures/bottlerocket/manifests/example.json");
    let mut g = c.benchmark_group("parsing");
    g.throughput(Throughput::Bytes(manifest.len() as u64));
    g.bench_function("manifest.json (Bottlerocket's example)", |b| {
        b.iter(|| tufwatch::releases::manifest::parse(black_box(&manifest)).unwrap())
    });

    // 10,000 nodes: the demo's kubectl nodes, repeated under new names.
    let demo: Value =
        serde_json::from_slice(&fixture("fixtures/demo-fleet/kubectl-nodes.json")).unwrap();
    let items = demo["items"].as_array().unwrap();
    let many: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut n = items[i % items.len()].clone();
            n["metadata"]["name"] = Value::String(format!("node-{i}"));
            n
        })
        .collect();
    let nodes = serde_json::to_vec(&serde_json::json!({"kind": "List", "items": many})).unwrap();
    g.throughput(Throughput::Bytes(nodes.len() as u64));
    g.bench_function("kubectl inventory, 10,000 nodes", |b| {
        b.iter(|| {
            tufwatch::fleet::inventory::parse(
                tufwatch::fleet::inventory::InventoryFormat::Kubectl,
                black_box(&nodes),
            )
            .unwrap()
        })
    });
    g.finish();

    // How tufwatch streams a kubectl list from a reader (a scanner splits the elements on one
    // thread, serde_json parses them on another), against serde_json's own streaming of the
    // `items` sequence (a DeserializeSeed visiting one element at a time from the reader), each
    // element read into the same small type.
    let mut g = c.benchmark_group("streaming a kubectl list from a reader, 10,000 nodes");
    g.throughput(Throughput::Bytes(nodes.len() as u64));
    g.bench_function("tufwatch: scanner + parser thread", |b| {
        b.iter(|| {
            tufwatch::fleet::stream::items(black_box(&nodes[..]), u64::MAX, |_, bytes| {
                serde_json::from_slice::<OsImage>(bytes).map_err(|e| e.to_string())
            })
            .unwrap()
        })
    });
    g.bench_function("peer: serde_json DeserializeSeed over the reader", |b| {
        b.iter(|| {
            items_seeded(black_box(&nodes[..]), |_, item: OsImage| {
                Ok::<_, std::convert::Infallible>(item)
            })
            .unwrap()
        })
    });
    g.finish();
}

/// What both streaming readers take of each node: what tufwatch reads of one (its name, OS
/// image and architecture), the rest skipped.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OsImage {
    metadata: Named,
    status: NodeStatus,
}
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Named {
    name: String,
}
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct NodeStatus {
    #[serde(rename = "nodeInfo")]
    node_info: NodeInfo,
}
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct NodeInfo {
    #[serde(rename = "osImage")]
    os_image: String,
    architecture: String,
}

/// Why a streamed list could not be read.
#[derive(Debug, thiserror::Error)]
enum SeededError<E> {
    /// Not JSON, or not an object with an `items` list.
    #[error("{0}")]
    Json(serde_json::Error),
    /// An element that is JSON but not what the caller takes.
    #[error("{0}")]
    Element(E),
}

/// Read the elements of the `items` list of the JSON object in `reader` with serde_json's own
/// streaming: each element deserialized into a `D` and made into a `T` by `make(index, it)` as
/// the reader goes, one at a time.
fn items_seeded<D, T, E>(
    reader: impl Read,
    make: impl FnMut(usize, D) -> Result<T, E>,
) -> Result<Vec<T>, SeededError<E>>
where
    D: serde::de::DeserializeOwned,
{
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::marker::PhantomData;
    struct Top<D, F, T, E> {
        make: F,
        failed: Option<E>,
        _d: PhantomData<(D, T)>,
    }
    struct Items<'a, D, F, T, E>(&'a mut Top<D, F, T, E>);
    impl<'de, D: serde::de::DeserializeOwned, T, E, F: FnMut(usize, D) -> Result<T, E>> Visitor<'de>
        for &mut Top<D, F, T, E>
    {
        type Value = Option<Vec<T>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object with an items list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "items" && out.is_none() {
                    out = Some(map.next_value_seed(Items(&mut *self))?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    impl<'de, D: serde::de::DeserializeOwned, T, E, F: FnMut(usize, D) -> Result<T, E>>
        DeserializeSeed<'de> for Items<'_, D, F, T, E>
    {
        type Value = Vec<T>;
        fn deserialize<De: serde::Deserializer<'de>>(self, d: De) -> Result<Vec<T>, De::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, D: serde::de::DeserializeOwned, T, E, F: FnMut(usize, D) -> Result<T, E>> Visitor<'de>
        for Items<'_, D, F, T, E>
    {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(d) = seq.next_element::<D>()? {
                match (self.0.make)(out.len(), d) {
                    Ok(t) => out.push(t),
                    Err(e) => {
                        self.0.failed = Some(e);
                        return Err(serde::de::Error::custom("element refused"));
                    }
                }
            }
            Ok(out)
        }
    }
    let mut top = Top {
        make,
        failed: None,
        _d: PhantomData,
    };
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let read = serde::Deserializer::deserialize_map(&mut de, &mut top).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match (read, top.failed) {
        (_, Some(e)) => Err(SeededError::Element(e)),
        (Err(e), None) => Err(SeededError::Json(e)),
        (Ok(None), None) => Err(SeededError::Json(serde::de::Error::custom(
            "items: missing",
        ))),
        (Ok(Some(v)), None) => Ok(v),
    }
}

criterion_group!(benches, metadata, hashing, releases_and_fleet);
criterion_main!(benches);
