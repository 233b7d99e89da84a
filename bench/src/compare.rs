//! The engine-neutral record of a run and the differential check between two engines.
//!
//! Each engine maps what it produced into a [`RunResult`]: per transaction the status, gas
//! used, return data and logs, and the world after the last transaction as a map of accounts.
//! The world is compared whole (every account either engine's final store holds), which covers
//! every account a transaction touched.
//!
//! Two normalisations keep representation apart from behaviour:
//! - An account with no code, zero nonce, zero balance and no storage is left out: after
//!   [EIP-161](https://eips.ethereum.org/EIPS/eip-161) such an account is absent from the state
//!   trie, whether a store deleted it (MetisVM) or kept it as an empty entry (revm's
//!   `CacheDB`). Storage slots holding zero are left out for the same reason.
//! - A failed transaction has no logs (receipts keep none) and a halted one no output.

use std::collections::BTreeMap;
use std::fmt;

use metisvm_vm::{Address, Bytes, B256, U256};

/// How a transaction's execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Succeeded.
    Success,
    /// Reverted (REVERT).
    Revert,
    /// Halted exceptionally; the engine's own wording of the reason, which is shown but not
    /// compared (engines name halts differently).
    Halt(String),
}

impl Status {
    /// Whether the two statuses are the same kind (halt reasons are not compared).
    pub fn same_kind(&self, other: &Status) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Whether this is [`Status::Success`].
    pub fn is_success(&self) -> bool {
        *self == Status::Success
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Success => f.write_str("success"),
            Status::Revert => f.write_str("revert"),
            Status::Halt(reason) => write!(f, "halt ({reason})"),
        }
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The emitting contract.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<B256>,
    /// Its data.
    pub data: Bytes,
}

/// What one transaction produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    /// How it ended.
    pub status: Status,
    /// Gas charged to the sender, refunds included.
    pub gas_used: u64,
    /// Return data or revert data (empty on a halt).
    pub output: Bytes,
    /// Logs (empty unless it succeeded).
    pub logs: Vec<LogEntry>,
}

impl TxResult {
    /// Builds a result, applying the module's normalisations.
    pub fn new(status: Status, gas_used: u64, output: Bytes, logs: Vec<LogEntry>) -> TxResult {
        let output = if matches!(status, Status::Halt(_)) { Bytes::new() } else { output };
        let logs = if status.is_success() { logs } else { Vec::new() };
        TxResult { status, gas_used, output, logs }
    }
}

/// An account of the final world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSnapshot {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// keccak-256 of the code.
    pub code_hash: B256,
    /// Non-zero storage slots.
    pub storage: BTreeMap<U256, U256>,
}

impl AccountSnapshot {
    /// Whether EIP-161 leaves this account out of the state (see the module docs).
    pub fn is_absent(&self) -> bool {
        self.balance.is_zero()
            && self.nonce == 0
            && self.code_hash == metisvm_vm::KECCAK_EMPTY
            && self.storage.is_empty()
    }
}

/// Everything a run of a workload produced, in engine-neutral form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunResult {
    /// One entry per transaction, in order.
    pub txs: Vec<TxResult>,
    /// The world after the last transaction: every present account (see the module docs).
    pub post: BTreeMap<Address, AccountSnapshot>,
}

impl RunResult {
    /// Records `account` at `address`, dropping zero storage and absent accounts.
    pub fn insert_account(&mut self, address: Address, mut account: AccountSnapshot) {
        account.storage.retain(|_, value| !value.is_zero());
        if !account.is_absent() {
            self.post.insert(address, account);
        }
    }

    /// Total gas used by every transaction.
    pub fn gas_used(&self) -> u64 {
        self.txs.iter().map(|tx| tx.gas_used).sum()
    }
}

/// At most this many differences are listed; the rest are counted.
const MAX_LISTED: usize = 12;

/// Every way `b` (engine `b_name`) differs from `a` (engine `a_name`), one line each; empty when
/// they agree.
pub fn differences(a_name: &str, a: &RunResult, b_name: &str, b: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    if a.txs.len() != b.txs.len() {
        out.push(format!("transaction count: {a_name} {} vs {b_name} {}", a.txs.len(), b.txs.len()));
    }
    for (i, (x, y)) in a.txs.iter().zip(&b.txs).enumerate() {
        tx_differences(i, a_name, x, b_name, y, &mut out);
    }
    state_differences(a_name, a, b_name, b, &mut out);
    if out.len() > MAX_LISTED {
        let more = out.len() - MAX_LISTED;
        out.truncate(MAX_LISTED);
        out.push(format!("... and {more} more"));
    }
    out
}

fn tx_differences(i: usize, a_name: &str, a: &TxResult, b_name: &str, b: &TxResult, out: &mut Vec<String>) {
    if !a.status.same_kind(&b.status) {
        out.push(format!("tx {i}: status {a_name} {} vs {b_name} {}", a.status, b.status));
    }
    if a.gas_used != b.gas_used {
        let delta = i128::from(b.gas_used) - i128::from(a.gas_used);
        out.push(format!("tx {i}: gas used {a_name} {} vs {b_name} {} ({delta:+})", a.gas_used, b.gas_used));
    }
    if a.output != b.output {
        out.push(format!(
            "tx {i}: return data {a_name} {} vs {b_name} {}",
            short_hex(&a.output),
            short_hex(&b.output)
        ));
    }
    if a.logs.len() != b.logs.len() {
        out.push(format!("tx {i}: log count {a_name} {} vs {b_name} {}", a.logs.len(), b.logs.len()));
    } else if let Some(k) = a.logs.iter().zip(&b.logs).position(|(x, y)| x != y) {
        let (x, y) = (&a.logs[k], &b.logs[k]);
        out.push(format!(
            "tx {i}: log {k} differs: {a_name} {} topics {} data {} vs {b_name} {} topics {} data {}",
            x.address,
            x.topics.len(),
            short_hex(&x.data),
            y.address,
            y.topics.len(),
            short_hex(&y.data)
        ));
    }
}

fn state_differences(a_name: &str, a: &RunResult, b_name: &str, b: &RunResult, out: &mut Vec<String>) {
    let addresses: std::collections::BTreeSet<&Address> = a.post.keys().chain(b.post.keys()).collect();
    for address in addresses {
        match (a.post.get(address), b.post.get(address)) {
            (Some(_), None) => {
                out.push(format!("account {address}: present in {a_name}, absent in {b_name}"))
            }
            (None, Some(_)) => {
                out.push(format!("account {address}: absent in {a_name}, present in {b_name}"))
            }
            (Some(x), Some(y)) => account_differences(address, a_name, x, b_name, y, out),
            (None, None) => {}
        }
    }
}

fn account_differences(
    address: &Address,
    a_name: &str,
    a: &AccountSnapshot,
    b_name: &str,
    b: &AccountSnapshot,
    out: &mut Vec<String>,
) {
    if a.balance != b.balance {
        out.push(format!("account {address}: balance {a_name} {} vs {b_name} {}", a.balance, b.balance));
    }
    if a.nonce != b.nonce {
        out.push(format!("account {address}: nonce {a_name} {} vs {b_name} {}", a.nonce, b.nonce));
    }
    if a.code_hash != b.code_hash {
        out.push(format!(
            "account {address}: code hash {a_name} {} vs {b_name} {}",
            a.code_hash, b.code_hash
        ));
    }
    let slots: std::collections::BTreeSet<&U256> = a.storage.keys().chain(b.storage.keys()).collect();
    for slot in slots {
        let x = a.storage.get(slot).copied().unwrap_or_default();
        let y = b.storage.get(slot).copied().unwrap_or_default();
        if x != y {
            out.push(format!(
                "account {address}: storage slot {slot:#x}: {a_name} {x:#x} vs {b_name} {y:#x}"
            ));
        }
    }
}

/// `0x` and the hex of `bytes`, cut to 32 bytes with the length noted when longer.
fn short_hex(bytes: &[u8]) -> String {
    if bytes.len() <= 32 {
        format!("0x{}", hex::encode(bytes))
    } else {
        format!("0x{}... ({} bytes)", hex::encode(&bytes[..32]), bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunResult {
        let log =
            LogEntry { address: Address::with_last_byte(1), topics: vec![B256::ZERO], data: Bytes::new() };
        let mut run = RunResult {
            txs: vec![TxResult::new(Status::Success, 21_000, Bytes::from_static(&[1]), vec![log])],
            ..RunResult::default()
        };
        let account = AccountSnapshot {
            balance: U256::from(5),
            nonce: 1,
            code_hash: metisvm_vm::KECCAK_EMPTY,
            storage: [(U256::from(1), U256::from(2)), (U256::from(3), U256::ZERO)].into_iter().collect(),
        };
        run.insert_account(Address::with_last_byte(1), account);
        run
    }

    #[test]
    fn equal_runs_agree() {
        assert!(differences("a", &sample(), "b", &sample()).is_empty());
        assert_eq!(sample().post[&Address::with_last_byte(1)].storage.len(), 1, "zero slots dropped");
    }

    #[test]
    fn empty_accounts_are_absent() {
        let mut run = sample();
        let empty = AccountSnapshot {
            balance: U256::ZERO,
            nonce: 0,
            code_hash: metisvm_vm::KECCAK_EMPTY,
            storage: BTreeMap::new(),
        };
        run.insert_account(Address::with_last_byte(9), empty);
        assert!(differences("a", &sample(), "b", &run).is_empty());
    }

    #[test]
    fn each_kind_of_difference_is_reported() {
        let a = sample();
        let mut b = sample();
        b.txs[0].gas_used += 3;
        b.txs[0].status = Status::Revert;
        b.txs[0].output = Bytes::from_static(&[2]);
        let acct = b.post.get_mut(&Address::with_last_byte(1)).unwrap();
        acct.balance = U256::from(6);
        acct.storage.insert(U256::from(1), U256::from(7));
        let other = AccountSnapshot { nonce: 1, ..acct.clone() };
        b.insert_account(Address::with_last_byte(2), other);
        let diff = differences("interp", &a, "revm", &b).join("\n");
        for needle in [
            "tx 0: status interp success vs revm revert",
            "tx 0: gas used interp 21000 vs revm 21003 (+3)",
            "tx 0: return data interp 0x01 vs revm 0x02",
            "balance interp 5 vs revm 6",
            "storage slot 0x1: interp 0x2 vs revm 0x7",
            "absent in interp, present in revm",
        ] {
            assert!(diff.contains(needle), "{needle:?} missing from:\n{diff}");
        }
    }

    #[test]
    fn log_and_halt_differences() {
        let a = sample();
        let mut b = sample();
        b.txs[0].logs[0].data = Bytes::from_static(&[9]);
        assert!(differences("a", &a, "b", &b)[0].contains("log 0 differs"));

        let halted =
            |reason: &str| TxResult::new(Status::Halt(reason.into()), 5, Bytes::from_static(&[1]), vec![]);
        let (x, y) = (halted("OutOfGas"), halted("out of gas"));
        assert!(x.output.is_empty() && x.status.same_kind(&y.status));
        let mut c = RunResult { txs: vec![x], ..RunResult::default() };
        let d = RunResult { txs: vec![y], ..RunResult::default() };
        assert!(differences("a", &c, "b", &d).is_empty(), "halt reasons are not compared");
        c.txs.push(TxResult::new(Status::Success, 1, Bytes::new(), vec![]));
        assert!(differences("a", &c, "b", &d)[0].contains("transaction count"));
    }
}
