use super::*;
use ember_runtime::Tier;

#[test]
fn every_runtime_setting_is_an_option() {
    let o = Options::default();
    assert_eq!(o.runtime_config().tier(), Tier::Auto);
    for (name, value) in [
        ("tier", "interp"),
        ("tier", "jit"),
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
        ("jit.window-ms", "100"),
        ("jit.buckets", "4"),
        ("jit.workers", "1"),
        ("jit.queue", "8"),
        ("jit.max-profiles", "64"),
        ("jit.opt-level", "2"),
        ("jit.shutdown-ms", "10"),
        ("jit.code-cache-bytes", "1000000"),
        ("jit.idle-evict-ms", "0"),
        ("jit.max-versions", "2"),
        ("jit.discard", "all"),
    ] {
        assert_eq!(o.set(name, value), Ok(()), "{name}={value}");
    }
    let c = o.runtime_config();
    assert_eq!((c.tier(), c.hot_calls(), c.queue()), (Tier::Auto, 2, 8));
}

#[test]
fn bad_names_and_values() {
    let o = Options::default();
    assert_eq!(
        o.set("verbose", "1"),
        Err(OptionError::UnknownName("verbose".into()))
    );
    assert_eq!(o.set("", ""), Err(OptionError::UnknownName(String::new())));
    for (name, value) in [
        ("tier", ""),
        ("tier", "Interp"),
        ("tier", "fast"),
        ("jit.workers", "0"),
        ("jit.queue", "-3"),
        ("jit.discard", "1"),
        ("jit.code-cache-bytes", "1"),
    ] {
        assert!(
            matches!(o.set(name, value), Err(OptionError::InvalidValue { .. })),
            "{name}={value}"
        );
    }
    let e = o.set("jit.workers", "0").unwrap_err();
    assert!(e.to_string().contains("jit.workers"), "{e}");
    assert_eq!(o.runtime_config(), RuntimeConfig::default());
}

#[test]
fn knows_exactly_the_names_set_accepts() {
    let o = Options::default();
    for name in [
        "profile",
        "jit.discard",
        "tier",
        "jit.max-versions",
        "profile.timeline",
    ] {
        assert!(Options::knows(name), "{name}");
    }
    for name in ["", "verbose", "unknown_option_csk9twq", "Tier", "jit."] {
        assert!(!Options::knows(name), "{name}");
        assert_eq!(o.set(name, "1"), Err(OptionError::UnknownName(name.into())));
    }
    for (name, _) in ember_runtime::SETTINGS {
        assert!(Options::knows(name), "{name}");
    }
}

#[test]
fn a_setting_after_the_first_call_replaces_the_runtime() {
    use ember_state::{run_message, Account, BlockEnv, WorldState};
    let o = Options::default();
    o.set("tier", "jit").unwrap();
    assert!(o.stats().is_none(), "created on the first call");
    struct Shim<'a>(&'a Options);
    impl Vm for Shim<'_> {
        fn execute(
            &self,
            host: &mut dyn Host,
            rev: Revision,
            msg: &Message<'_>,
            code: &[u8],
            _: Option<&ember_evm::B256>,
        ) -> ExecResult {
            self.0.run(host, rev, msg, code)
        }
    }
    let to = ember_evm::Address([0x10; 20]);
    let mut state = WorldState::new();
    state.insert(
        to,
        Account {
            code: [0x60, 1, 0x60, 2, 0x01, 0x00].as_slice().into(),
            ..Account::default()
        },
    );
    let msg = Message::call(ember_evm::Address([0xaa; 20]), to, &[], 1000);
    let block = BlockEnv::default();
    let (r, _) = run_message(&mut state, &block, Revision::Cancun, &Shim(&o), &msg, None);
    assert_eq!(r.gas_left, 1000 - 9);
    let stats = o.stats().unwrap();
    assert_eq!(stats.tier, Tier::Jit);
    assert_eq!(stats.contracts[0].profile.jit.calls, 1);
    assert_eq!(stats.cache.discards, 0);
    // Discarding acts on the running runtime and keeps it.
    o.set("jit.discard", "all").unwrap();
    let stats = o.stats().unwrap();
    assert_eq!((stats.cache.discards, stats.cache.discarded), (1, 1));
    assert_eq!(stats.cache.published_bytes, 0);
    run_message(&mut state, &block, Revision::Cancun, &Shim(&o), &msg, None);
    assert_eq!(o.stats().unwrap().contracts[0].profile.versions, 2);
    // The profile is written when the instance goes.
    let dir = std::env::temp_dir().join(format!("ember-shim-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.json");
    o.set("profile", path.to_str().unwrap()).unwrap();
    assert!(matches!(
        o.set("profile", ""),
        Err(OptionError::InvalidValue { .. })
    ));
    o.write_profile().unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["units"][0]["jit"]["calls"], 2, "{written}");
    std::fs::remove_dir_all(&dir).unwrap();
    o.set("tier", "interp").unwrap();
    assert!(o.stats().is_none());
    run_message(&mut state, &block, Revision::Cancun, &Shim(&o), &msg, None);
    let stats = o.stats().unwrap();
    assert_eq!((stats.tier, stats.contracts.len()), (Tier::Interp, 1));
    let c = &stats.contracts[0];
    assert_eq!(
        (
            c.profile.interp.calls,
            c.profile.jit.calls,
            c.profile.versions
        ),
        (1, 0, 0),
        "a fresh runtime"
    );
}
