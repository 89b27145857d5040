//! Runs the `swapcheck` binary on a small region (no memory limit, so nothing is swapped)
//! and checks its exit status and the lines that scripts parse.

use std::process::Command;

/// Runs swapcheck with `args`; returns the exit code and stdout.
fn swapcheck(args: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_swapcheck"))
        .args(args.split_whitespace())
        .output()
        .expect("swapcheck runs");
    let code = out.status.code().expect("exited, not killed");
    (code, String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// The value of `key=` in the line starting with `prefix`.
fn field<'a>(out: &'a str, prefix: &str, key: &str) -> &'a str {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}` in:\n{out}"));
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key}=` in `{line}`"))
}

fn runtime_then_summary(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let n = lines.len();
    assert!(lines[n - 2].starts_with("swapcheck: runtime_s="), "{out}");
    let runtime: f64 = field(out, "swapcheck: runtime_s=", "runtime_s")
        .parse()
        .unwrap();
    assert!(runtime > 0.0);
    assert!(lines[n - 1].starts_with("swapcheck: pages="), "{out}");
}

#[test]
fn default_run_prints_what_it_always_did() {
    let (code, out) = swapcheck("--size 1M --seed 1 --passes 2 --mix mixed");
    assert_eq!(code, 0, "{out}");
    // Every line as before (timings vary), plus the runtime before the summary.
    let prefixes = [
        "swapcheck: size=1048576 pages=256 seed=0x1 mix=mixed passes=2 rewrite-fraction=0.25",
        "swapcheck: fill: 256 pages in ",
        "swapcheck: pass 1 verify: 256 pages, 0 mismatches in ",
        "swapcheck: pass 1 rewrite: ",
        "swapcheck: pass 2 verify: 256 pages, 0 mismatches in ",
        "swapcheck: pass 2 rewrite: ",
        "swapcheck: final verify: 256 pages, 0 mismatches in ",
        "swapcheck: runtime_s=",
        "swapcheck: pages=256 verified=768 mismatches=0 passes=2",
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), prefixes.len(), "{out}");
    for (line, prefix) in lines.iter().zip(prefixes) {
        assert!(
            line.starts_with(prefix),
            "`{line}` should start with `{prefix}`"
        );
    }
    assert!(out.ends_with("swapcheck: pages=256 verified=768 mismatches=0 passes=2\n"));
}

#[test]
fn threaded_sweeps() {
    let (code, out) = swapcheck("--size 8M --threads 4 --passes 2");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\nswapcheck: threads=4\n"), "{out}");
    assert!(out.contains("swapcheck: pass 2 verify: 2048 pages, 0 mismatches in "));
    assert!(out.contains("swapcheck: final verify: 2048 pages, 0 mismatches in "));
    runtime_then_summary(&out);
    assert!(out.ends_with("swapcheck: pages=2048 verified=6144 mismatches=0 passes=2\n"));
}

#[test]
fn hot_cold_mode() {
    let (code, out) = swapcheck(
        "--size 8M --threads 3 --passes 2 --hot-fraction 0.2 --accesses 5000 --mix mixed",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(
        "\nswapcheck: hot-cold: hot_pages=410 hot-share=0.8 accesses=5000 fault-threshold-ns=2000\n"
    ));
    assert!(
        out.contains("swapcheck: pass 1 access: 5000 accesses ("),
        "{out}"
    );
    assert!(
        out.contains("swapcheck: pass 2 access: 5000 accesses ("),
        "{out}"
    );
    assert_eq!(field(&out, "swapcheck: accesses=", "accesses"), "10000");
    runtime_then_summary(&out);
    assert!(out.ends_with("swapcheck: pages=2048 verified=12048 mismatches=0 passes=2\n"));
}

#[test]
fn hot_cold_line_format() {
    let (code, out) = swapcheck("--size 1M --passes 1 --hot-fraction 0.5 --fault-threshold-ns 0");
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("swapcheck: accesses="))
        .unwrap();
    let keys: Vec<&str> = line["swapcheck: ".len()..]
        .split(' ')
        .map(|w| w.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "accesses",
            "faulted",
            "fault_p50_us",
            "fault_p99_us",
            "hot_pages",
            "majflt"
        ]
    );
    // With a zero threshold every access counts as faulted.
    assert_eq!(field(&out, "swapcheck: accesses=", "faulted"), "256");
    let p50 = field(&out, "swapcheck: accesses=", "fault_p50_us");
    assert_eq!(
        p50.split('.').nth(1).map(str::len),
        Some(1),
        "one decimal: {p50}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        "--size 1M --threads 0",
        "--size 1M --hot-fraction 1",
        "--size 1M --hot-share 0.5",
    ] {
        let (code, _) = swapcheck(args);
        assert_eq!(code, 2, "{args}");
    }
}
