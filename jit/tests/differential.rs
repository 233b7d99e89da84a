//! The JIT against the interpreter: every program runs on both, at every gas limit around
//! the point where it runs out, and must give the same status (halt reason included), gas
//! used, output, logs and state changes. Programs end by storing their stack into storage
//! and returning their memory, so stack and memory are compared too.

use metisvm_jit::differential::{Case, Harness};
use metisvm_jit::CompileOptions;
use metisvm_vm::{Fork, U256};

/// Runs `code` on both engines with every execution gas in `gases`; panics on the first
/// difference, and checks that the code did run compiled.
fn assert_same(code: &[u8], fork: Fork, data: &[u8], gases: impl IntoIterator<Item = u64>) {
    assert_same_with(CompileOptions::default(), code, fork, data, gases);
}

/// [`assert_same`] with only the optimisations `options` turns on.
fn assert_same_with(
    options: CompileOptions,
    code: &[u8],
    fork: Fork,
    data: &[u8],
    gases: impl IntoIterator<Item = u64>,
) {
    let case = Case { code: code.to_vec(), data: data.to_vec(), fork };
    let state = case.state();
    let mut harness = Harness::with_options(options);
    for gas in gases {
        if let Err(difference) = harness.check(&case, &state, gas) {
            panic!("{difference}");
        }
    }
    // Every deployed code is compiled in `always` mode.
    let stats = harness.jit().stats();
    assert_eq!((stats.compiled, stats.failed), (1, 0), "code {}", case.code_hex());
}

/// Gas the program uses with plenty.
fn needed(code: &[u8], fork: Fork, data: &[u8]) -> u64 {
    let case = Case { code: code.to_vec(), data: data.to_vec(), fork };
    Harness::new().needed(&case, &case.state(), 1_000_000)
}

/// Stores the top `n` stack items in slots 0.., then returns all memory.
fn epilogue(code: &mut Vec<u8>, n: u8) {
    for slot in 0..n {
        code.extend([0x60, slot, 0x55]);
    }
    code.extend([0x59, 0x5f, 0xf3]);
}

/// Gas limits to run a program that needs `gas` at: every one up to a little over it, or, for
/// programs that grow memory to megabytes, the lowest ones and those around the end (where
/// the growth charges and the last instructions fail).
fn gases_around(gas: u64) -> Vec<u64> {
    if gas < 5_000 {
        (0..=gas + 3).collect()
    } else {
        (0..200).chain(gas - 200..=gas + 3).collect()
    }
}

fn parse(hex: &str) -> Vec<u8> {
    hex::decode(hex).expect("test hex")
}

#[test]
fn arithmetic_and_comparisons_match() {
    // Words with carries across every limb, signs, and all-ones.
    let words = [
        "00",
        "01",
        "ffffffffffffffff",
        "010000000000000000",
        "8000000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "00000000000000010000000000000000ffffffffffffffff0000000000000001",
    ];
    let binary = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a,
        0x1b, 0x1c, 0x1d,
    ];
    for a in words {
        for b in words {
            for op in binary {
                // Constants (folded at compile time) and calldata words (computed at run
                // time) both.
                let push = |code: &mut Vec<u8>, w: &str| {
                    let bytes = parse(&format!("{w:0>64}"));
                    code.push(0x7f);
                    code.extend(bytes);
                };
                let mut folded = Vec::new();
                push(&mut folded, b);
                push(&mut folded, a);
                folded.extend([op, 0x80, 0x15, 0x81, 0x19]);
                epilogue(&mut folded, 3);
                let mut computed = parse("60203560003500");
                computed.pop();
                computed.extend([0x90, op, 0x80, 0x15, 0x81, 0x19]);
                epilogue(&mut computed, 3);
                let data = [parse(&format!("{a:0>64}")), parse(&format!("{b:0>64}"))].concat();
                for code in [folded, computed] {
                    let gas = needed(&code, Fork::Osaka, &data);
                    assert_same(&code, Fork::Osaka, &data, [gas, gas - 1]);
                }
            }
        }
    }
}

#[test]
fn constant_shifts_byte_indices_and_sign_positions_match() {
    // A constant first input and a computed second one: the inlined forms.
    let amounts =
        [0u64, 1, 7, 8, 15, 30, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 192, 200, 255, 256, 300];
    let values = [
        "8000000000000000000000000000000000000000000000000000000000000000",
        "0123456789abcdeffedcba9876543210f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "00000000000000000000000000000000000000000000000000000000000080ff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ];
    for op in [0x0b, 0x1a, 0x1b, 0x1c, 0x1d] {
        for amount in amounts {
            // CALLDATALOAD(0), PUSH32 amount, op, then the result and its negation.
            let mut code = vec![0x5f, 0x35, 0x7f];
            code.extend(U256::from(amount).to_be_bytes::<32>());
            code.extend([op, 0x80, 0x19]);
            epilogue(&mut code, 2);
            for value in values {
                let data = parse(value);
                let gas = needed(&code, Fork::Osaka, &data);
                assert_same(&code, Fork::Osaka, &data, [gas]);
            }
        }
    }
}

/// A program applying `op` to two words, each either a constant (PUSH32) or computed (from
/// calldata), then storing the result and its negation.
fn binary_program(op: u8, top: Option<U256>, second: Option<U256>) -> Vec<u8> {
    let mut code = Vec::new();
    for (word, offset) in [(second, 0x20u8), (top, 0x00)] {
        match word {
            Some(w) => {
                code.push(0x7f);
                code.extend(w.to_be_bytes::<32>());
            }
            None => code.extend([0x60, offset, 0x35]),
        }
    }
    code.extend([op, 0x80, 0x19]);
    epilogue(&mut code, 2);
    code
}

#[test]
fn computed_shifts_and_multiplication_match() {
    // Shift amounts on both sides of every limb boundary, and factors with zero limbs (as
    // constants such as 10^18 have), each side constant or computed.
    let amounts = [0u64, 1, 7, 63, 64, 65, 100, 127, 128, 129, 191, 192, 193, 255, 256, 257, 1 << 40];
    let mut words: Vec<U256> = [
        "8000000000000000000000000000000000000000000000000000000000000000",
        "0123456789abcdeffedcba9876543210f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "00000000000000000000000000000000000000000000000000000000000080ff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "00000000000000000000000000000000ffffffffffffffffffffffffffffffff",
        "0000000000000000000000000000000000000000000000000de0b6b3a7640000",
        "fffffffffffffffffffffffffffffffffffffffffffffffff21f494c589c0000",
        "0000000000000001000000000000000000000000000000000000000000000000",
    ]
    .iter()
    .map(|w| U256::from_be_bytes::<32>(parse(w).try_into().expect("32 bytes")))
    .collect();
    words.push(U256::from(1) << 255 | U256::from(1) << 64);
    let mut cases = Vec::new();
    for op in [0x1b, 0x1c, 0x1d] {
        for &amount in &amounts {
            for &value in &words {
                cases.push((op, U256::from(amount), value));
            }
        }
        cases.push((op, U256::from(1) << 128 | U256::from(3), words[1]));
    }
    for &a in &words {
        for &b in &words {
            cases.push((0x02, a, b));
        }
    }
    for (op, top, second) in cases {
        let data = [top.to_be_bytes::<32>(), second.to_be_bytes::<32>()].concat();
        for (t, s) in [(None, None), (Some(top), None), (None, Some(second))] {
            let code = binary_program(op, t, s);
            let gas = needed(&code, Fork::Osaka, &data);
            assert_same(&code, Fork::Osaka, &data, [gas]);
        }
    }
}

#[test]
fn jumps_resolved_and_dynamic() {
    // A loop counting down from the calldata word with a constant back-jump, a dynamic
    // jump through calldata, an invalid constant jump, and an invalid dynamic jump.
    let programs = [
        // i = calldata; while i != 0 { i -= 1 }; store i
        "6000355b80600e5760005500".to_string() + "5b6001900360025600",
        "600035565b00".to_string(),
        "600456".to_string(),
        "6000355600".to_string(),
        // JUMPI with a constant true condition and a computed destination.
        "60016000355700005b600160005500".to_string(),
    ];
    for program in programs {
        let code = parse(&program);
        for data in [U256::from(0), U256::from(3), U256::from(4), U256::from(7), U256::MAX] {
            let data = data.to_be_bytes::<32>();
            let gas = needed(&code, Fork::Cancun, &data);
            assert_same(&code, Fork::Cancun, &data, (0..=gas.min(400) + 3).chain([gas + 10]));
        }
    }
}

#[test]
fn keccak_matches() {
    // Hashes of memory already there, of memory the hash grows, of nothing at a huge offset,
    // and of ranges past any gas, each with offset and length constant or computed, at
    // every gas limit up to what the program needs: the word charge, the growth charge and
    // the hand-back to the interpreter all run.
    let value = parse("a1a2a3a4a5a6a7a8b1b2b3b4b5b6b7b8c1c2c3c4c5c6c7c8d1d2d3d4d5d6d7d8");
    let ranges: [(U256, U256); 9] = [
        (U256::ZERO, U256::from(32)),
        (U256::from(5), U256::from(20)),
        (U256::ZERO, U256::from(64)),
        (U256::from(40), U256::from(100)),
        (U256::from(0x400), U256::from(1)),
        (U256::MAX, U256::ZERO),
        (U256::ZERO, U256::from(u32::MAX)),
        (U256::from(u32::MAX), U256::from(u32::MAX)),
        (U256::from(1) << 64, U256::from(32)),
    ];
    for (offset, len) in ranges {
        let data = [offset.to_be_bytes::<32>(), len.to_be_bytes::<32>()].concat();
        // PUSH32 value, PUSH0, MSTORE (memory starts at one word), then the hash.
        let mut prologue = vec![0x7f];
        prologue.extend(&value);
        prologue.extend([0x5f, 0x52]);
        let mut constant = prologue.clone();
        for word in [len, offset] {
            constant.push(0x7f);
            constant.extend(word.to_be_bytes::<32>());
        }
        constant.extend([0x20, 0x59]);
        epilogue(&mut constant, 2);
        let mut computed = prologue;
        computed.extend([0x60, 0x20, 0x35, 0x5f, 0x35, 0x20, 0x59]);
        epilogue(&mut computed, 2);
        for code in [constant, computed] {
            let gas = needed(&code, Fork::Cancun, &data);
            assert_same(&code, Fork::Cancun, &data, gases_around(gas));
            assert_same_with(
                CompileOptions::default().without("memory").expect("a name"),
                &code,
                Fork::Cancun,
                &data,
                [gas],
            );
        }
    }
}

#[test]
fn memory_access_matches() {
    // Offsets as constants and as calldata words: inside memory, growing it, at the 32-bit
    // edge and far past it, so the in-place access, growth, and the out-of-gas hand-back all
    // run. Each program stores, loads back and leaves MSIZE, then returns memory.
    let offsets = [
        U256::ZERO,
        U256::from(1),
        U256::from(31),
        U256::from(33),
        U256::from(0x3e0),
        U256::from(0x1_0000),
        U256::from(u32::MAX - 31),
        U256::from(u32::MAX),
        U256::from(1u64 << 32),
        U256::from(1) << 64,
        U256::MAX,
    ];
    let value = parse("a1a2a3a4a5a6a7a8b1b2b3b4b5b6b7b8c1c2c3c4c5c6c7c8d1d2d3d4d5d6d7d8");
    for offset in offsets {
        let word = offset.to_be_bytes::<32>();
        // Constant offset: PUSH32 value, PUSH32 offset, MSTORE; PUSH32 offset, MLOAD;
        // PUSH1 0x5a, PUSH32 offset+1... (MSTORE8 at the same offset), MSIZE.
        let mut constant = vec![0x7f];
        constant.extend(&value);
        constant.push(0x7f);
        constant.extend(word);
        constant.push(0x52);
        constant.push(0x7f);
        constant.extend(word);
        constant.extend([0x51, 0x60, 0x5a, 0x7f]);
        constant.extend(word);
        constant.extend([0x53, 0x59]);
        epilogue(&mut constant, 2);
        // Computed offset: calldata word 0.
        let mut computed = vec![0x7f];
        computed.extend(&value);
        computed.extend([0x5f, 0x35, 0x52, 0x5f, 0x35, 0x51, 0x60, 0x5a, 0x5f, 0x35, 0x53, 0x59]);
        epilogue(&mut computed, 2);
        for code in [constant, computed] {
            let gas = needed(&code, Fork::Cancun, &word);
            assert_same(&code, Fork::Cancun, &word, gases_around(gas));
        }
    }
}

#[test]
fn calls_suspend_and_resume_compiled_code() {
    // With calldata the contract calls itself without (the child stops at once), then goes
    // on after the CALL: mid-block, with words computed before the call still needed, and
    // with the CALL as the code's last instruction (the frame resumes at the code's end).
    // CALLDATASIZE ISZERO PUSH1 <skip> JUMPI; 7 * 3; CALL(gas, self, 0, 0, 0, 0, 0); ADD.
    let mut with_epilogue = parse("3615600057");
    with_epilogue.extend(parse("6007600302"));
    with_epilogue.extend(parse("5f5f5f5f5f305af1"));
    with_epilogue.push(0x01);
    epilogue(&mut with_epilogue, 1);
    with_epilogue[3] = with_epilogue.len() as u8;
    with_epilogue.extend([0x5b, 0x00]);
    // CALLDATASIZE PUSH1 5 JUMPI STOP JUMPDEST CALL(gas, self, 0, 0, 0, 0, 0), and nothing after.
    let call_last = parse("36600557005b5f5f5f5f5f305af1");
    for code in [with_epilogue, call_last] {
        let data = [1u8];
        let gas = needed(&code, Fork::Cancun, &data);
        assert_same(&code, Fork::Cancun, &data, (0..=gas + 3).step_by(7).chain(gas - 40..=gas + 3));
    }
}

/// A small deterministic generator (xorshift), so the random programs are the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Random programs over arithmetic, stack, memory, jumps, GAS, storage and environment
/// reads, under several forks, each at every gas limit up to what it needs.
#[test]
fn random_programs_match_the_interpreter() {
    let ops: &[u8] = &[
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x50, 0x51, 0x52, 0x53, 0x55, 0x54, 0x56, 0x57, 0x58,
        0x59, 0x5a, 0x5b, 0x5f, 0x80, 0x81, 0x83, 0x8f, 0x90, 0x91, 0x9f, 0x0a, 0x20, 0x00, 0xfe, 0x0c, 0x30,
        0x33, 0x35, 0x36,
    ];
    // Every optimisation on, then each one off (the last rounds).
    let configs: Vec<CompileOptions> = std::iter::once(CompileOptions::default())
        .chain(
            CompileOptions::NAMES
                .iter()
                .map(|name| CompileOptions::default().without(name).expect("known name")),
        )
        .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..250 {
        let options = if round < 150 { configs[0] } else { configs[1 + round % (configs.len() - 1)] };
        let mut code = Vec::new();
        let len = 4 + rng.next() % 32;
        for _ in 0..len {
            match rng.next() % 3 {
                0 => code.extend([0x60, (rng.next() % 48) as u8]),
                1 => {
                    let n = 1 + (rng.next() % 32) as usize;
                    code.push(0x5f + n as u8);
                    code.extend((0..n).map(|_| rng.next() as u8));
                }
                _ => code.push(rng.pick(ops)),
            }
        }
        if round % 2 == 0 {
            epilogue(&mut code, 2);
        }
        let fork = [Fork::Frontier, Fork::Byzantium, Fork::Cancun, Fork::Osaka][round % 4];
        let data = [0xa5u8; 40];
        let gas = needed(&code, fork, &data).min(2_000);
        assert_same_with(options, &code, fork, &data, 0..=gas + 5);
    }
}
