use super::*;

fn u(x: u64) -> U256 {
    U256::from(x)
}
fn neg(x: u64) -> U256 {
    U256::from(x).wrapping_neg()
}
/// MULMOD as a frame's first, with a cache of its own.
fn mulmod_once(a: U256, b: U256, n: U256) -> U256 {
    mulmod(a, b, n, &MulModCache::default())
}

#[test]
fn signed_division_and_remainder() {
    assert_eq!(sdiv(neg(10), u(3)), neg(3));
    assert_eq!(sdiv(u(10), neg(3)), neg(3));
    assert_eq!(sdiv(neg(10), neg(3)), u(3));
    assert_eq!(sdiv(SIGN_BIT, U256::MAX), SIGN_BIT, "MIN / -1 wraps to MIN");
    assert_eq!(sdiv(u(5), U256::ZERO), U256::ZERO);
    assert_eq!(smod(neg(10), u(3)), neg(1));
    assert_eq!(smod(u(10), neg(3)), u(1));
    assert_eq!(smod(u(10), U256::ZERO), U256::ZERO);
    assert_eq!(div(u(7), U256::ZERO), U256::ZERO);
    assert_eq!(rem(u(7), u(4)), u(3));
    // Powers of two take the shift/mask path; compare with the general algorithm.
    let x = U256::MAX - u(12345);
    for k in [0usize, 1, 63, 64, 65, 128, 200, 255] {
        let p = U256::from(1) << k;
        assert_eq!(div(x, p), x / p, "2^{k}");
        assert_eq!(rem(x, p), x % p, "2^{k}");
    }
    assert_eq!(div(x, u(3)), x / u(3));
    assert_eq!(rem(x, u(6)), x % u(6));
}

#[test]
fn powers_of_two_are_found_limb_by_limb() {
    assert_eq!(power_of_two(&U256::ZERO), None);
    for k in [0usize, 1, 63, 64, 127, 128, 191, 192, 255] {
        assert_eq!(power_of_two(&(U256::from(1) << k)), Some(k), "2^{k}");
    }
    assert_eq!(power_of_two(&u(6)), None, "two bits in one limb");
    assert_eq!(
        power_of_two(&U256::from_limbs([1, 0, 1, 0])),
        None,
        "two limbs"
    );
    assert_eq!(power_of_two(&U256::from_limbs([0, 0, 0, 3 << 62])), None);
    assert_eq!(power_of_two(&U256::MAX), None);
}

#[test]
fn modular_arithmetic_uses_full_precision() {
    assert_eq!(addmod(U256::MAX, u(2), u(2)), u(1), "(2^256-1+2) mod 2 = 1");
    assert_eq!(mulmod_once(U256::MAX, U256::MAX, u(12)), u(9));
    assert_eq!(addmod(u(1), u(2), U256::ZERO), U256::ZERO);
    assert_eq!(mulmod_once(u(1), u(2), U256::ZERO), U256::ZERO);
}

/// splitmix64 (Steele, Lea and Flood): a fixed-seed generator for the randomized tests.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number of exactly `bits` bits (1..=256): random below the top bit, which is set.
    fn with_bits(&mut self, bits: usize) -> U256 {
        let x = U256::from_limbs([self.next(), self.next(), self.next(), self.next()]);
        (x >> (256 - bits)) | (U256::from(1) << (bits - 1))
    }
}

fn pow2(k: usize) -> U256 {
    U256::from(1) << k
}

/// Checks MULMOD against ruint, and both remainders of a product by a modulus of at least
/// 2^192 (long division, Barrett) whatever the cache holds.
fn check_against_ruint(a: U256, b: U256, n: U256) {
    let product = a.mul_mod(b, n);
    // The first call meets a new modulus (long division), the second computes Barrett's
    // constant, the third uses the cached one.
    let cache = MulModCache::default();
    for call in 0..3 {
        assert_eq!(
            mulmod(a, b, n, &cache),
            product,
            "mulmod({a:#x}, {b:#x}, {n:#x}), call {call}"
        );
    }
    let limbs = n.as_limbs();
    if limbs[3] != 0 {
        let wide = mul_wide(a.as_limbs(), b.as_limbs());
        let mu = barrett_constant(limbs);
        assert_eq!(
            rem_barrett(&wide, limbs, &mu),
            product,
            "Barrett {a:#x} {b:#x} {n:#x}"
        );
        assert_eq!(
            divrem_knuth::<4>(&wide, limbs).1,
            product,
            "Knuth {a:#x} {b:#x} {n:#x}"
        );
    }
}

/// The moduli and operands where the algorithms change paths or carries ripple.
fn edge_values() -> Vec<U256> {
    let bn254_p = U256::from_str_radix(
        "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
        16,
    )
    .unwrap();
    let secp256k1_p = U256::MAX - U256::from(0x1_0000_03d0_u64);
    let mut values = vec![u(0), u(1), u(2), u(3), u(12), bn254_p, secp256k1_p];
    for k in [63, 64, 127, 128, 191, 192, 255] {
        values.extend([pow2(k) - u(1), pow2(k), pow2(k) + u(1)]);
    }
    values.extend([pow2(256 - 1) + pow2(128), U256::MAX - u(1), U256::MAX]);
    values.extend([1, 7, 65, 100, 129, 200, 254].map(pow2));
    values
}

/// Calls `check(a, b, n)` for every modulus among the edge values and every pair of operands
/// among them and the operands tied to the modulus: n − 1, n, n + 1, 2n − 1 (all wrapping).
fn for_edge_triples(mut check: impl FnMut(U256, U256, U256)) {
    let values = edge_values();
    for &n in &values {
        let near_n = [
            n.wrapping_sub(u(1)),
            n,
            n.wrapping_add(u(1)),
            n.wrapping_add(n).wrapping_sub(u(1)),
        ];
        for &a in values.iter().chain(&near_n) {
            for &b in values.iter().chain(&near_n) {
                check(a, b, n);
            }
        }
    }
}

#[test]
fn mulmod_edge_cases_match_ruint() {
    for_edge_triples(check_against_ruint);
    let m = U256::MAX;
    assert_eq!(mulmod_once(m, m, m), U256::ZERO);
    assert_eq!(
        mulmod_once(m - u(1), m - u(1), m),
        u(1),
        "(-1)·(-1) mod 2^256 − 1"
    );
    assert_eq!(mulmod_once(pow2(255), u(2), m), u(1), "2^256 mod 2^256 − 1");
}

#[test]
fn addmod_matches_ruint() {
    for_edge_triples(|a, b, n| {
        let want = if n.is_zero() {
            U256::ZERO
        } else {
            a.add_mod(b, n)
        };
        assert_eq!(addmod(a, b, n), want, "addmod({a:#x}, {b:#x}, {n:#x})");
    });
    let mut rng = SplitMix64(0xadd_0000_7e57);
    for _ in 0..200_000 {
        let bits = [0; 3].map(|_| (rng.next() % 256) as usize + 1);
        let (a, b, n) = (
            rng.with_bits(bits[0]),
            rng.with_bits(bits[1]),
            rng.with_bits(bits[2]),
        );
        // Reduced operands take the limb path; the others ruint's.
        let (ra, rb) = (a % n, b % n);
        assert_eq!(addmod(ra, rb, n), ra.add_mod(rb, n));
        assert_eq!(addmod(a, b, n), a.add_mod(b, n));
    }
}

#[test]
fn mulmod_random_triples_match_ruint() {
    // Bit lengths of a, b and n drawn independently from 1..=256, so every length of
    // divisor, numerator and quotient is met, with the Barrett and long-division paths.
    let mut rng = SplitMix64(0x5eed_0000_e3be_5d00);
    for _ in 0..200_000 {
        let a_bits = (rng.next() % 256) as usize + 1;
        let b_bits = (rng.next() % 256) as usize + 1;
        let n_bits = (rng.next() % 256) as usize + 1;
        let a = rng.with_bits(a_bits);
        let b = rng.with_bits(b_bits);
        let n = rng.with_bits(n_bits);
        check_against_ruint(a, b, n);
        // The all-ones modulus (Solidity's mulDiv) takes its own path.
        assert_eq!(mulmod_once(a, b, U256::MAX), a.mul_mod(b, U256::MAX));
    }
}

#[test]
fn barrett_cache_follows_the_modulus() {
    let p = U256::from_str_radix(
        "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
        16,
    )
    .unwrap();
    let q = U256::MAX - u(188); // Another modulus above 2^192.
    let (a, b) = (U256::MAX - u(5), pow2(200) + u(77));
    let cache = MulModCache::default();
    let cached = || (cache.modulus.get(), cache.mu.get());
    assert_eq!(mulmod(a, b, p, &cache), a.mul_mod(b, p));
    assert_eq!(cached().0, *p.as_limbs());
    assert!(cached().1.is_none(), "a first use computes no constant");
    assert_eq!(mulmod(a, b, p, &cache), a.mul_mod(b, p));
    assert_eq!(cached().1, Some(barrett_constant(p.as_limbs())));
    // Alternating moduli never use a stale constant.
    for _ in 0..3 {
        assert_eq!(mulmod(a, b, q, &cache), a.mul_mod(b, q));
        assert_eq!(cached().0, *q.as_limbs());
        assert_eq!(mulmod(b, a, p, &cache), a.mul_mod(b, p));
        assert_eq!(cached().0, *p.as_limbs());
    }
    // The all-ones modulus has its own path and leaves the cache alone.
    assert_eq!(mulmod(a, b, U256::MAX, &cache), a.mul_mod(b, U256::MAX));
    assert_eq!(cached().0, *p.as_limbs());
}

#[test]
fn barrett_constant_is_the_wide_quotient() {
    let mut rng = SplitMix64(7);
    let mut moduli = vec![pow2(192) + u(1), pow2(255), U256::MAX, pow2(200) - u(1)];
    moduli.extend((0..200).map(|i| rng.with_bits(193 + i % 64)));
    for n in moduli {
        let mu = barrett_constant(n.as_limbs());
        let expected = ruint::aliases::U512::MAX / ruint::aliases::U512::from(n);
        let expected = expected.as_limbs();
        assert_eq!(mu[..], expected[..5], "mu for {n:#x}");
        assert!(expected[5..].iter().all(|&l| l == 0));
    }
}

#[test]
fn reciprocals_match_their_definition() {
    let mut rng = SplitMix64(11);
    let mut divisors = vec![
        (1 << 63, 0),
        (1 << 63, u64::MAX),
        (u64::MAX, 0),
        (u64::MAX, u64::MAX),
    ];
    divisors.extend((0..1000).map(|_| (rng.next() | 1 << 63, rng.next())));
    // Every entry of the 2-by-1 reciprocal's table, at the bottom, top and middle of its range.
    for d9 in 256u64..512 {
        for low in [0, (1 << 55) - 1, rng.next() >> 9] {
            divisors.push((d9 << 55 | low, rng.next()));
        }
    }
    for (d1, d0) in divisors {
        // ⌊(2^128 − 1) / d1⌋ − 2^64, computed directly in 128 bits.
        assert_eq!(
            reciprocal_2by1(d1),
            (u128::MAX / u128::from(d1)) as u64,
            "{d1:#x}"
        );
        // ⌊(2^192 − 1) / d⌋ − 2^64 with d = d1 · 2^64 + d0.
        let d = U256::from_limbs([d0, d1, 0, 0]);
        let expected = (U256::MAX >> 64) / d - pow2(64);
        assert_eq!(
            U256::from(reciprocal_3by2(d1, d0)),
            expected,
            "{d1:#x} {d0:#x}"
        );
    }
}

/// Checks `divrem_knuth` on `x` against ruint's 512-bit division.
fn check_divrem<const N: usize>(x: [u64; 8], d: [u64; N]) {
    let (q, r) = divrem_knuth::<N>(&x, &d);
    let mut d4 = [0u64; 4];
    d4[..N].copy_from_slice(&d);
    let (x512, d512) = (ruint::aliases::U512::from_limbs(x), U256::from_limbs(d4));
    let d512 = ruint::aliases::U512::from(d512);
    assert_eq!(
        ruint::aliases::U512::from_limbs(q),
        x512 / d512,
        "quotient {x:x?} / {d:x?}"
    );
    assert_eq!(
        ruint::aliases::U512::from(r),
        x512 % d512,
        "remainder {x:x?} / {d:x?}"
    );
}

#[test]
fn long_division_rare_branches() {
    // The divisors' top limb has its top bit set: no normalising shift.
    let top = 0x8000_0000_0000_0abc_u64;
    // Quotient limb 2^64 − 1: with x5 x4 below d1 d0 the first quotient limb is zero and
    // the next one starts from the top limbs x7 x6 = d3 d2.
    let d = [5, 9, 0x1234, top];
    check_divrem::<4>([1, 2, 3, 4, 3, 0, 0x1234, top], d);
    check_divrem::<4>([u64::MAX; 8], [u64::MAX; 4]);
    // Add-back: the 3-by-2 step sees x4 x3 x2 = 0 d3 d2, estimates 1 with nothing left
    // over, and the low limbs x1 x0 = 0 0 then fall short of q · (d1, d0).
    check_divrem::<4>([0, 0, 0x1234, top, 0, 0, 0, 0], d);
    check_divrem::<3>([0, 0x1234, top, 0, 0, 0, 0, 0], [u64::MAX, 0x1234, top]);
    // The same after normalisation by one bit.
    check_divrem::<4>([0, 0, 0x91a, top >> 1, 0, 0, 0, 0], [2, 4, 0x91a, top >> 1]);
    let mut rng = SplitMix64(13);
    for _ in 0..2000 {
        let x: [u64; 8] = std::array::from_fn(|_| rng.next() >> (rng.next() % 64));
        let d_bits = (rng.next() % 192) as usize + 65;
        let d = rng.with_bits(d_bits);
        let l = d.as_limbs();
        match d.bit_len().div_ceil(64) {
            2 => check_divrem::<2>(x, [l[0], l[1]]),
            3 => check_divrem::<3>(x, [l[0], l[1], l[2]]),
            _ => check_divrem::<4>(x, *l),
        }
    }
}

/// The edge values and 40 random full-width words from `seed`.
fn edge_and_random_values(seed: u64) -> Vec<U256> {
    let mut rng = SplitMix64(seed);
    let mut values = edge_values();
    values.extend((0..40).map(|_| rng.with_bits(256)));
    values
}

#[test]
fn shifts_match_ruint_at_every_amount() {
    // Every amount from 0 to 300 (each whole-limb move, with and without a bit shift, and
    // past 256), on values with set bits in every limb, both signs, and the edges.
    for x in edge_and_random_values(0x5417) {
        let negative = x.bit(255);
        for s in 0..=300usize {
            let shift = u(s as u64);
            let (want_shl, want_shr) = if s < 256 {
                (x << s, x >> s)
            } else {
                (U256::ZERO, U256::ZERO)
            };
            let want_sar = if negative {
                !(!x >> s.min(256))
            } else {
                x >> s.min(256)
            };
            assert_eq!(shl(shift, x), want_shl, "SHL {s} {x:#x}");
            assert_eq!(shr(shift, x), want_shr, "SHR {s} {x:#x}");
            assert_eq!(sar(shift, x), want_sar, "SAR {s} {x:#x}");
        }
        // An amount with a high limb set shifts everything out, whatever its low limb.
        for high in [
            U256::from(1) << 64,
            (U256::from(1) << 200) | u(3),
            U256::MAX,
        ] {
            assert_eq!(shl(high, x), U256::ZERO);
            assert_eq!(shr(high, x), U256::ZERO);
            let all = if negative { U256::MAX } else { U256::ZERO };
            assert_eq!(sar(high, x), all);
        }
    }
}

#[test]
fn byte_matches_ruint_at_every_index() {
    for x in edge_and_random_values(0xb17e) {
        for i in 0..40u64 {
            let want = if i < 32 {
                u(x.byte(31 - i as usize).into())
            } else {
                U256::ZERO
            };
            assert_eq!(byte(u(i), x), want, "BYTE {i} {x:#x}");
        }
        assert_eq!(byte(U256::from(1) << 64, x), U256::ZERO, "a high limb");
    }
}

#[test]
fn sign_extension_bytes_and_shifts() {
    assert_eq!(signextend(u(0), u(0xff)), U256::MAX);
    assert_eq!(signextend(u(0), u(0x7f)), u(0x7f));
    assert_eq!(signextend(u(1), u(0x1_80ff)), neg(0x7f01));
    assert_eq!(signextend(u(31), u(5)), u(5));
    assert_eq!(signextend(U256::MAX, u(0xff)), u(0xff));
    assert_eq!(byte(u(31), u(0xab)), u(0xab));
    assert_eq!(byte(u(0), SIGN_BIT), u(0x80));
    assert_eq!(byte(u(32), U256::MAX), U256::ZERO);
    assert_eq!(shl(u(4), u(1)), u(16));
    assert_eq!(shl(u(256), u(1)), U256::ZERO);
    assert_eq!(shr(u(255), SIGN_BIT), u(1));
    assert_eq!(sar(u(4), neg(32)), neg(2));
    assert_eq!(sar(u(300), neg(1)), U256::MAX);
    assert_eq!(sar(u(300), u(1)), U256::ZERO);
    assert!(slt(neg(1), u(0)));
    assert!(!slt(u(0), neg(1)));
    assert_eq!(clz(U256::ZERO), u(256));
    assert_eq!(clz(u(1)), u(255));
    assert_eq!(clz(SIGN_BIT), u(0));
}

#[test]
fn division_matches_ruint_at_every_divisor_length() {
    let check = |a: U256, b: U256| {
        let (q, r) = if b.is_zero() {
            (U256::ZERO, U256::ZERO)
        } else {
            (a / b, a % b)
        };
        assert_eq!(div(a, b), q, "{a:#x} / {b:#x}");
        assert_eq!(rem(a, b), r, "{a:#x} % {b:#x}");
        let (sa, sb) = (abs(a), abs(b));
        if !sb.is_zero() {
            let sq = sa / sb;
            let sq = if is_negative(&a) != is_negative(&b) {
                sq.wrapping_neg()
            } else {
                sq
            };
            let sr = sa % sb;
            let sr = if is_negative(&a) {
                sr.wrapping_neg()
            } else {
                sr
            };
            assert_eq!(sdiv(a, b), sq, "{a:#x} sdiv {b:#x}");
            assert_eq!(smod(a, b), sr, "{a:#x} smod {b:#x}");
        }
    };
    let values = edge_and_random_values(0xd1f);
    for &a in &values {
        for &b in &values {
            check(a, b);
        }
    }
    // Every pair of bit lengths, so that each divisor length (one to four limbs, with and
    // without a normalising shift) meets numerators shorter, as long and longer.
    let mut rng = SplitMix64(0xd1d1);
    for a_bits in (1..=256).step_by(7) {
        for b_bits in (1..=256).step_by(5) {
            check(rng.with_bits(a_bits), rng.with_bits(b_bits));
        }
    }
    // Powers of two, which the signed operations shift and mask, as dividends of every sign.
    for k in [0usize, 1, 2, 63, 64, 127, 128, 254, 255] {
        for &a in &values {
            check(a, pow2(k));
        }
    }
    // Quotient limbs of 2^64 − 1 and the 2-by-1 step's corrections.
    for d in [1u64, 3, u64::MAX, 1 << 63, (1 << 63) + 1, 0x1_0000_0001] {
        check(U256::MAX, U256::from(d));
        check(U256::MAX - U256::from(d), U256::from(d));
    }
}
