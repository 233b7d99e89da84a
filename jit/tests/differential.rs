//! The JIT against the interpreter: every program runs on both, at every gas limit around
//! the point where it runs out, and must give the same status (halt reason included), gas
//! used, output, logs and state changes. Programs end by storing their stack into storage
//! and returning their memory, so stack and memory are compared too.

use metisvm_jit::{Jit, JitConfig, JitMode};
use metisvm_state::MemoryState;
use metisvm_vm::{Address, BlockEnv, Bytes, CfgEnv, Evm, Fork, TxEnv, TxOutcome, U256};
use std::sync::Arc;

const SENDER: Address = Address::repeat_byte(0x5e);
const CONTRACT: Address = Address::repeat_byte(0xc0);

/// The lowest gas limit the transaction is valid with: intrinsic gas (and the EIP-7623
/// floor).
fn base_gas(fork: Fork, data: &[u8]) -> u64 {
    let intrinsic = metisvm_vm::intrinsic::intrinsic_gas_of(fork, data, false, &[], 0);
    let floor = metisvm_vm::intrinsic::calldata_floor_gas_of(fork, data).unwrap_or(0);
    intrinsic.max(floor)
}

fn state(code: &[u8]) -> MemoryState {
    let mut state = MemoryState::new();
    let info = |balance, nonce, code: &[u8]| metisvm_vm::AccountInfo {
        balance,
        nonce,
        code_hash: metisvm_vm::KECCAK_EMPTY,
        code: Some(Bytes::copy_from_slice(code)),
    };
    state.insert_account(SENDER, info(U256::from(10u64).pow(U256::from(20)), 0, &[]), []);
    state.insert_account(CONTRACT, info(U256::ZERO, 1, code), [(U256::from(7), U256::from(9))]);
    state
}

fn run(evm: &mut Evm, state: &MemoryState, fork: Fork, gas: u64, data: &[u8]) -> TxOutcome {
    let block = BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() };
    let cfg = CfgEnv::new(fork);
    let tx = TxEnv {
        caller: SENDER,
        to: Some(CONTRACT),
        gas_limit: gas,
        data: Bytes::copy_from_slice(data),
        tx_type: 0,
        ..TxEnv::default()
    };
    evm.transact(state, &block, &cfg, &tx).expect("valid transaction")
}

fn jit_evm() -> (Evm, Jit) {
    let jit = Jit::new(JitConfig { mode: JitMode::Always, ..JitConfig::default() });
    let mut evm = Evm::new();
    evm.set_native_backend(Arc::new(jit.clone()));
    (evm, jit)
}

fn hex(code: &[u8]) -> String {
    code.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `code` on both engines with every execution gas in `gases`; panics on the first
/// difference.
fn assert_same(code: &[u8], fork: Fork, data: &[u8], gases: impl IntoIterator<Item = u64>) {
    let state = state(code);
    let (mut interp, (mut jit, backend)) = (Evm::new(), jit_evm());
    let base = base_gas(fork, data);
    for gas in gases {
        let a = run(&mut interp, &state, fork, base + gas, data);
        let b = run(&mut jit, &state, fork, base + gas, data);
        let context = format!("code {} under {fork:?} with {gas} execution gas", hex(code));
        assert_eq!(a.status, b.status, "status: {context}");
        assert_eq!(a.gas_used, b.gas_used, "gas used: {context}");
        assert_eq!(a.output, b.output, "output: {context}");
        assert_eq!(a.logs, b.logs, "logs: {context}");
        assert_eq!(a.diff, b.diff, "state changes: {context}");
    }
    // The code did run compiled (every deployed code is, in `Always` mode).
    let stats = backend.stats();
    assert_eq!((stats.compiled, stats.failed), (1, 0), "code {}", hex(code));
}

/// Gas the program uses with plenty.
fn needed(code: &[u8], fork: Fork, data: &[u8]) -> u64 {
    let base = base_gas(fork, data);
    run(&mut Evm::new(), &state(code), fork, base + 1_000_000, data).gas_used.saturating_sub(base)
}

/// Stores the top `n` stack items in slots 0.., then returns all memory.
fn epilogue(code: &mut Vec<u8>, n: u8) {
    for slot in 0..n {
        code.extend([0x60, slot, 0x55]);
    }
    code.extend([0x59, 0x5f, 0xf3]);
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
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..150 {
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
        assert_same(&code, fork, &data, 0..=gas + 5);
    }
}
