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
    {
        // The replaced runtime is kept, retired: its code and its profiles are freed.
        let settings = o.settings();
        let made = &settings.made;
        assert_eq!(made.len(), 1);
        let old = made[0].stats();
        assert_eq!(old.tier, Tier::Jit);
        assert_eq!(
            (old.cache.published_bytes, old.cache.resident_bytes),
            (0, 0)
        );
        assert!(old.contracts.is_empty(), "{:?}", old.contracts);
    }
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

#[test]
fn calls_on_many_threads_survive_settings_changing_under_them() {
    use ember_testkit::{address, RecordingHost};
    let o = Options::default();
    // PUSH1 1 PUSH1 2 ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    let code = [
        0x60, 1, 0x60, 2, 0x01, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
    ];
    let msg = Message::call(address(0xa0), address(0x10), &[], 100_000);
    let rev = Revision::Cancun;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut host = RecordingHost::new(&ember_evm::Interpreter, rev);
                for _ in 0..2000 {
                    let r = o.run(&mut host, rev, &msg, &code);
                    assert_eq!(r.output[31], 3);
                    assert_eq!(r.gas_left, 100_000 - 24);
                }
            });
        }
        for i in 0..40 {
            let calls = if i % 2 == 0 { "2" } else { "3" };
            o.set("jit.hot-calls", calls).unwrap();
            o.set("tier", if i % 3 == 0 { "jit" } else { "auto" })
                .unwrap();
            std::thread::yield_now();
        }
    });
    let settings = o.settings();
    let made = &settings.made;
    assert!(!made.is_empty(), "the calls created runtimes");
    for rt in &made[..made.len() - 1] {
        assert_eq!(rt.stats().cache.resident_bytes, 0, "replaced: no code kept");
    }
}
