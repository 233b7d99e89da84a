//! What `metisvm run` prints about each transaction: status, gas, return data (with revert
//! reasons decoded), logs, created contracts and the state diff, as text or as JSON.
//!
//! Both forms are deterministic: accounts and storage slots are sorted, so the output can be
//! compared and snapshot-tested.

use metisvm_state::MemoryState;
use metisvm_vm::{
    AccountChange, Address, Bytes, ExecStatus, Log, StateDiff, StateError, StateReader, B256, KECCAK_EMPTY,
    U256,
};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// What happened to one transaction.
pub(crate) struct TxReport {
    /// Position in the file, from 0.
    pub(crate) index: usize,
    /// The sender.
    pub(crate) from: Address,
    /// The recipient; `None` for a creation.
    pub(crate) to: Option<Address>,
    /// The nonce it ran with.
    pub(crate) nonce: u64,
    /// Its execution, or the rejection message.
    pub(crate) result: Result<Executed, String>,
}

/// The results of a transaction that passed validation.
pub(crate) struct Executed {
    pub(crate) status: ExecStatus,
    pub(crate) gas_used: u64,
    pub(crate) output: Bytes,
    pub(crate) logs: Vec<Log>,
    /// Contracts created (the top-level one and any created by CREATE/CREATE2), sorted.
    pub(crate) created: Vec<Address>,
    /// Changed accounts, sorted by address.
    pub(crate) diff: Vec<AccountDiff>,
}

/// The change of one account, before -> after.
pub(crate) struct AccountDiff {
    pub(crate) address: Address,
    pub(crate) change: Change,
}

/// How an account changed.
pub(crate) enum Change {
    /// The account was removed (self-destruct, or EIP-161 clearing).
    Deleted,
    /// The account exists afterwards; each field is `Some((before, after))` when it changed.
    Updated {
        /// The account did not exist before.
        new: bool,
        balance: Option<(U256, U256)>,
        nonce: Option<(u64, u64)>,
        code_hash: Option<(B256, B256)>,
        /// (slot, before, after), sorted by slot.
        storage: Vec<(U256, U256, U256)>,
    },
}

fn changed<T: PartialEq + Copy>(before: T, after: T) -> Option<(T, T)> {
    (before != after).then_some((before, after))
}

/// The state a diff is described against: reads, plus the listing of an account's storage
/// where the store can give it.
pub(crate) trait DiffBase: StateReader {
    /// The non-zero slots of `address`, when the store can list them. Needed only for an
    /// account whose storage a transaction clears while it had some, which EIP-7610 rules out
    /// for creations; a store that cannot list slots returns none.
    fn listed_storage(&self, address: &Address) -> Vec<(U256, U256)>;
}

impl DiffBase for MemoryState {
    fn listed_storage(&self, address: &Address) -> Vec<(U256, U256)> {
        self.get(address).map(|a| a.storage.iter().map(|(s, v)| (*s, *v)).collect()).unwrap_or_default()
    }
}

impl DiffBase for metisvm_state::Snapshot {
    fn listed_storage(&self, _: &Address) -> Vec<(U256, U256)> {
        Vec::new()
    }
}

/// Describes `diff` against `state`, the state it is about to be committed to.
/// Returns the changed accounts and the created contracts, both sorted.
pub(crate) fn describe_diff(
    state: &impl DiffBase,
    diff: &StateDiff,
) -> Result<(Vec<AccountDiff>, Vec<Address>), StateError> {
    let mut entries: Vec<(&Address, &AccountChange)> = diff.iter().collect();
    entries.sort_by_key(|(address, _)| **address);
    let mut out = Vec::new();
    let mut created = Vec::new();
    for (&address, change) in entries {
        let before = state.account(address)?;
        match change {
            AccountChange::Deleted => {
                if before.is_some() {
                    out.push(AccountDiff { address, change: Change::Deleted });
                }
            }
            AccountChange::Updated { info, storage_cleared, storage } => {
                if *storage_cleared {
                    created.push(address);
                }
                let (old_balance, old_nonce, old_code) = before
                    .as_ref()
                    .map_or((U256::ZERO, 0, KECCAK_EMPTY), |a| (a.balance, a.nonce, a.code_hash));
                let mut slots: Vec<(U256, U256, U256)> = Vec::new();
                for (slot, value) in storage {
                    let old = if before.is_some() { state.storage(address, *slot)? } else { U256::ZERO };
                    slots.push((*slot, old, *value));
                }
                if *storage_cleared {
                    for (slot, old) in state.listed_storage(&address) {
                        if !storage.contains_key(&slot) {
                            slots.push((slot, old, U256::ZERO));
                        }
                    }
                }
                slots.retain(|(_, old, new)| old != new);
                slots.sort();
                let change = Change::Updated {
                    new: before.is_none(),
                    balance: changed(old_balance, info.balance),
                    nonce: changed(old_nonce, info.nonce),
                    code_hash: changed(old_code, info.code_hash),
                    storage: slots,
                };
                if before.is_none() || !change.is_unchanged() {
                    out.push(AccountDiff { address, change });
                }
            }
        }
    }
    Ok((out, created))
}

impl Change {
    fn is_unchanged(&self) -> bool {
        matches!(
            self,
            Change::Updated { new: false, balance: None, nonce: None, code_hash: None, storage }
                if storage.is_empty()
        )
    }
}

/// `Error(string)`: what Solidity's `require(cond, "reason")` and `revert("reason")` return.
const ERROR_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// `Panic(uint256)`: what Solidity's failed `assert`, overflow and bounds checks return.
const PANIC_SELECTOR: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

fn word_to_usize(word: &[u8]) -> Option<usize> {
    usize::try_from(U256::from_be_slice(word)).ok()
}

/// Decodes revert data that is an ABI `Error(string)` or `Panic(uint256)` payload.
pub(crate) fn decode_revert_reason(data: &[u8]) -> Option<String> {
    let (selector, args) = (data.get(..4)?, data.get(4..)?);
    if selector == ERROR_SELECTOR {
        let offset = word_to_usize(args.get(..32)?)?;
        let len_end = offset.checked_add(32)?;
        let len = word_to_usize(args.get(offset..len_end)?)?;
        let text = args.get(len_end..len_end.checked_add(len)?)?;
        return Some(format!("Error({:?})", String::from_utf8_lossy(text)));
    }
    if selector == PANIC_SELECTOR && args.len() == 32 {
        let code = U256::from_be_slice(args);
        let meaning = match u64::try_from(code) {
            Ok(0x00) => "generic compiler panic",
            Ok(0x01) => "assertion failed",
            Ok(0x11) => "arithmetic overflow or underflow",
            Ok(0x12) => "division or modulo by zero",
            Ok(0x21) => "invalid enum value",
            Ok(0x22) => "invalid storage byte array encoding",
            Ok(0x31) => "pop on an empty array",
            Ok(0x32) => "array index out of bounds",
            Ok(0x41) => "out of memory",
            Ok(0x51) => "call to an uninitialised function",
            _ => "unknown panic code",
        };
        return Some(format!("Panic({code:#x}: {meaning})"));
    }
    None
}

/// Names for well-known addresses (dev accounts, the coinbase) in the text output.
pub(crate) struct Labels(pub(crate) Vec<(Address, String)>);

impl Labels {
    fn name(&self, address: &Address) -> String {
        match self.0.iter().find(|(a, _)| a == address) {
            Some((_, label)) => format!("{address} ({label})"),
            None => address.to_string(),
        }
    }
}

/// One word for the status: `success`, `revert`, `halt` or `rejected`.
fn status_word(result: &Result<Executed, String>) -> &'static str {
    match result {
        Ok(e) => match e.status {
            ExecStatus::Success => "success",
            ExecStatus::Revert => "revert",
            ExecStatus::Halt(_) => "halt",
        },
        Err(_) => "rejected",
    }
}

/// The human-readable report of a run.
pub(crate) fn render_text(fork: &str, reports: &[TxReport], labels: &Labels) -> String {
    let mut s = String::new();
    let plural = if reports.len() == 1 { "" } else { "s" };
    let _ = writeln!(s, "fork {fork}, {} transaction{plural}", reports.len());
    for r in reports {
        let to = r.to.map_or_else(|| "create".to_string(), |a| labels.name(&a));
        let _ = writeln!(s, "\ntransaction {}: {} -> {to}, nonce {}", r.index, labels.name(&r.from), r.nonce);
        let e = match &r.result {
            Ok(e) => e,
            Err(msg) => {
                let _ = writeln!(s, "  status: rejected: {msg}");
                continue;
            }
        };
        match e.status {
            ExecStatus::Halt(reason) => {
                let _ = writeln!(s, "  status: halt: {}", reason.as_str());
            }
            _ => {
                let _ = writeln!(s, "  status: {}", status_word(&r.result));
            }
        }
        let _ = writeln!(s, "  gas used: {}", e.gas_used);
        let _ = writeln!(s, "  return data: {}", e.output);
        if e.status == ExecStatus::Revert {
            if let Some(reason) = decode_revert_reason(&e.output) {
                let _ = writeln!(s, "  revert reason: {reason}");
            }
        }
        for address in &e.created {
            let _ = writeln!(s, "  created: {address}");
        }
        if e.logs.is_empty() {
            let _ = writeln!(s, "  logs: none");
        } else {
            let _ = writeln!(s, "  logs:");
        }
        for (i, log) in e.logs.iter().enumerate() {
            let _ = writeln!(s, "    [{i}] {}", labels.name(&log.address));
            for topic in &log.topics {
                let _ = writeln!(s, "      topic: {topic}");
            }
            let _ = writeln!(s, "      data: {}", log.data);
        }
        if e.diff.is_empty() {
            let _ = writeln!(s, "  state diff: none");
        } else {
            let _ = writeln!(s, "  state diff:");
        }
        for account in &e.diff {
            write_account_text(&mut s, account, labels);
        }
    }
    s
}

fn write_account_text(s: &mut String, account: &AccountDiff, labels: &Labels) {
    let name = labels.name(&account.address);
    let (new, balance, nonce, code_hash, storage) = match &account.change {
        Change::Deleted => {
            let _ = writeln!(s, "    {name}: deleted");
            return;
        }
        Change::Updated { new, balance, nonce, code_hash, storage } => {
            (new, balance, nonce, code_hash, storage)
        }
    };
    let _ = writeln!(s, "    {name}{}", if *new { ": new account" } else { "" });
    if let Some((a, b)) = balance {
        let _ = writeln!(s, "      balance: {a} -> {b}");
    }
    if let Some((a, b)) = nonce {
        let _ = writeln!(s, "      nonce: {a} -> {b}");
    }
    if let Some((a, b)) = code_hash {
        let _ = writeln!(s, "      code hash: {a} -> {b}");
    }
    for (slot, a, b) in storage {
        let _ = writeln!(s, "      storage {slot:#x}: {a:#x} -> {b:#x}");
    }
}

fn hex_address(a: &Address) -> String {
    format!("{a:?}")
}

fn from_to<T: ToString>(pair: &(T, T)) -> Value {
    json!({"before": pair.0.to_string(), "after": pair.1.to_string()})
}

fn from_to_hex(a: U256, b: U256) -> Value {
    json!({"before": format!("{a:#x}"), "after": format!("{b:#x}")})
}

/// The machine-readable report of a run. Quantities are `0x` hex strings, as in JSON-RPC;
/// gas is a number.
pub(crate) fn render_json(fork: &str, reports: &[TxReport]) -> Value {
    let txs: Vec<Value> = reports.iter().map(tx_json).collect();
    json!({ "fork": fork, "transactions": txs })
}

fn tx_json(r: &TxReport) -> Value {
    let mut obj = Map::new();
    obj.insert("index".into(), json!(r.index));
    obj.insert("from".into(), json!(hex_address(&r.from)));
    obj.insert("to".into(), r.to.map_or(Value::Null, |a| json!(hex_address(&a))));
    obj.insert("nonce".into(), json!(r.nonce));
    obj.insert("status".into(), json!(status_word(&r.result)));
    let e = match &r.result {
        Ok(e) => e,
        Err(msg) => {
            obj.insert("error".into(), json!(msg));
            return Value::Object(obj);
        }
    };
    if let ExecStatus::Halt(reason) = e.status {
        obj.insert("error".into(), json!(reason.as_str()));
    }
    obj.insert("gasUsed".into(), json!(e.gas_used));
    obj.insert("output".into(), json!(e.output.to_string()));
    let reason = if e.status == ExecStatus::Revert { decode_revert_reason(&e.output) } else { None };
    obj.insert("revertReason".into(), reason.map_or(Value::Null, Value::String));
    let logs: Vec<Value> = e
        .logs
        .iter()
        .map(|l| {
            json!({
                "address": hex_address(&l.address),
                "topics": l.topics.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "data": l.data.to_string(),
            })
        })
        .collect();
    obj.insert("logs".into(), Value::Array(logs));
    obj.insert("createdAddresses".into(), json!(e.created.iter().map(hex_address).collect::<Vec<_>>()));
    let mut diff = Map::new();
    for account in &e.diff {
        diff.insert(hex_address(&account.address), account_json(&account.change));
    }
    obj.insert("stateDiff".into(), Value::Object(diff));
    Value::Object(obj)
}

fn account_json(change: &Change) -> Value {
    let Change::Updated { new, balance, nonce, code_hash, storage } = change else {
        return json!({ "deleted": true });
    };
    let mut obj = Map::new();
    if *new {
        obj.insert("new".into(), json!(true));
    }
    if let Some((a, b)) = balance {
        obj.insert("balance".into(), from_to_hex(*a, *b));
    }
    if let Some((a, b)) = nonce {
        obj.insert("nonce".into(), json!({"before": a, "after": b}));
    }
    if let Some(pair) = code_hash {
        obj.insert("codeHash".into(), from_to(pair));
    }
    if !storage.is_empty() {
        let slots: Map<String, Value> =
            storage.iter().map(|(slot, a, b)| (format!("{slot:#x}"), from_to_hex(*a, *b))).collect();
        obj.insert("storage".into(), Value::Object(slots));
    }
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi_error(reason: &str) -> Vec<u8> {
        let mut out = ERROR_SELECTOR.to_vec();
        out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        out.extend_from_slice(&U256::from(reason.len()).to_be_bytes::<32>());
        out.extend_from_slice(reason.as_bytes());
        out.resize(out.len().div_ceil(32) * 32 + 4, 0);
        out
    }

    #[test]
    fn decodes_error_strings() {
        assert_eq!(decode_revert_reason(&abi_error("nope")).as_deref(), Some("Error(\"nope\")"));
        let long = "x".repeat(70);
        assert_eq!(decode_revert_reason(&abi_error(&long)), Some(format!("Error({long:?})")));
    }

    #[test]
    fn decodes_panics() {
        let mut data = PANIC_SELECTOR.to_vec();
        data.extend_from_slice(&U256::from(0x11).to_be_bytes::<32>());
        assert_eq!(
            decode_revert_reason(&data).as_deref(),
            Some("Panic(0x11: arithmetic overflow or underflow)")
        );
    }

    #[test]
    fn ignores_malformed_payloads() {
        assert_eq!(decode_revert_reason(&[]), None);
        assert_eq!(decode_revert_reason(&[1, 2, 3, 4, 5]), None);
        let mut truncated = abi_error("hello");
        truncated.truncate(4 + 64 + 2);
        assert_eq!(decode_revert_reason(&truncated), None);
        // An offset or length near usize::MAX must not overflow.
        let mut huge = ERROR_SELECTOR.to_vec();
        huge.extend_from_slice(&[0xff; 64]);
        assert_eq!(decode_revert_reason(&huge), None);
        let mut huge_len = ERROR_SELECTOR.to_vec();
        huge_len.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        huge_len.extend_from_slice(&U256::from(u64::MAX).to_be_bytes::<32>());
        assert_eq!(decode_revert_reason(&huge_len), None);
        let mut panic_short = PANIC_SELECTOR.to_vec();
        panic_short.push(1);
        assert_eq!(decode_revert_reason(&panic_short), None);
    }
}
