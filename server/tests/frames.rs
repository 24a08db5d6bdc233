//! The request decoder on hostile bytes: random frames (with and without a served API key and
//! version in front), the fuzz corpus (`fuzz/corpus/serve_request/`), and arrays claiming billions
//! of elements all end in an answer or an error, never a panic or an abort.

// The flowc binary's allocator (src/main.rs): a decoder sizing a vector from an array length off the
// wire asks for hundreds of gigabytes, which it maps unreserved instead of aborting the process.
#[global_allocator]
static ALLOCATOR: flowc_runtime::large_alloc::LargeAllocGuard = flowc_runtime::large_alloc::LargeAllocGuard;

use bytes::Bytes;
use flowc_server::{decode_request, FrameError, SUPPORTED};
use proptest::prelude::*;

fn header(key: i16, version: i16) -> Vec<u8> {
    let mut f = key.to_be_bytes().to_vec();
    f.extend(version.to_be_bytes());
    f.extend(1i32.to_be_bytes());
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(Bytes::from(bytes));
    }

    #[test]
    fn random_bodies_of_served_requests_never_panic(
        which in 0..SUPPORTED.len(),
        up in 0i16..16,
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (key, lo, hi) = SUPPORTED[which];
        let version = lo + up % (hi - lo + 1);
        let mut frame = header(key as i16, version);
        frame.extend(body);
        match decode_request(Bytes::from(frame)) {
            Ok(r) => prop_assert_eq!(r.header.request_api_version, version),
            Err(FrameError::Malformed(_)) => {}
            Err(e) => prop_assert!(false, "a served key and version is decoded or malformed, not {e}"),
        }
    }
}

#[test]
fn the_fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/serve_request");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus is in the repository") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let _ = decode_request(Bytes::from(bytes));
        n += 1;
    }
    assert!(n >= 10, "the corpus has its seeds ({n} files)");
}

#[test]
fn an_array_claiming_billions_of_elements_is_an_error() {
    // Metadata v1: the topics array's length says i32::MAX; a Fetch v4 topic array likewise
    for (key, version) in [(3i16, 1i16), (1, 4), (0, 3), (11, 1)] {
        let mut frame = header(key, version);
        frame.extend((-1i16).to_be_bytes()); // null client id
        frame.extend([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(decode_request(Bytes::from(frame)), Err(FrameError::Malformed(_))), "{key} v{version}");
    }
    // a flexible version: compact arrays count with an unsigned varint
    let mut frame = header(3, 12);
    frame.extend([0xff, 0xff, 0x00]); // null client id (compact nullable), no tags
    frame.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(decode_request(Bytes::from(frame)), Err(FrameError::Malformed(_))));
}
