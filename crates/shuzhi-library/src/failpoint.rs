//! Named failpoints for crash tests. `SHUZHI_FAILPOINT=<name>[=panic]` (several separated by
//! commas) makes the process die at that point: by default with `abort()` — no destructors, no
//! cleanup, like SIGKILL — or with a panic. Unset, a failpoint costs one environment lookup.

/// The environment variable read.
pub const ENV: &str = "SHUZHI_FAILPOINT";

/// Dies here if the failpoint `name` is armed.
pub fn hit(name: &str) {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    for item in spec.split(',') {
        let (point, action) = item.split_once('=').unwrap_or((item, "abort"));
        if point.trim() == name {
            eprintln!("failpoint {name} hit ({action})");
            if action.trim() == "panic" {
                panic!("failpoint {name}");
            }
            std::process::abort();
        }
    }
}
