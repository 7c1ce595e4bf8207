//! The streaming tar header reader on arbitrary bytes: never panics, never reports more
//! bytes than it was given, offsets only grow, payload reads deliver exactly the bytes
//! announced, and a finished reader stays finished.
#![no_main]

use app::tar::TarReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = strata_fuzz::limits();
    let mut tr = TarReader::new(data, &limits);
    let mut buf = [0u8; 700];
    let mut last = 0u64;
    for i in 0u32.. {
        match tr.next_header() {
            Ok(Some(h)) => {
                assert!(h.offset >= last, "entry offset went backwards");
                assert!(h.offset < tr.offset(), "header offset not before its end");
                assert_eq!(tr.offset() % 512, 0, "entry data does not start on a block");
                assert!(tr.offset() <= data.len() as u64, "offset past the input");
                if let Some(sp) = h.sparse {
                    assert!(sp.regions <= limits.max_sparse_regions);
                    assert!(sp.data_bytes <= h.size, "sparse data larger than the file");
                } else if matches!(h.typeflag, b'0' | b'7') {
                    assert_eq!(tr.remaining_payload(), h.size, "payload length of a file");
                }
                // Read every other payload, skip the rest.
                if i % 2 == 0 {
                    let want = tr.remaining_payload();
                    let mut got = 0u64;
                    loop {
                        match tr.read_payload(&mut buf) {
                            Ok(0) => {
                                assert_eq!(got, want, "payload shorter than announced");
                                break;
                            }
                            Ok(n) => got += n as u64,
                            Err(_) => return,
                        }
                    }
                    assert_eq!(tr.remaining_payload(), 0);
                }
                last = tr.offset();
            }
            Ok(None) => {
                assert!(tr.offset() <= data.len() as u64, "offset past the input");
                assert!(matches!(tr.next_header(), Ok(None)), "reader restarted");
                return;
            }
            Err(_) => return,
        }
    }
});
