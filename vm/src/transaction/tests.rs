use super::*;
use crate::crypto::SECP256K1N;

/// The signed example of EIP-155 (chain id 1, private key 0x4646...46).
const EIP155_TX: &str = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

/// Typed transactions from the execution-spec-tests fixtures, all sent by the key of
/// 0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b on chain 1.
const TYPED_TXS: [&str; 4] = [
    "01f86101800a8252089410000000000000000000000000000000000010000180c001a01e5c23e99d5b884a3f0b57810316ae9ca9cb0c8804b0b90854bd988bd10fe29aa05877c5ce88557b09587a55b5711d25c6281ad8d96705298e515b9f53c1ecefef",
    "02f86101808007825213948a0a19589531694250d570040a0c4b74576919b88000c080a093f4361828a1939e158ea59c407b237fe241324b01d4ecdb2190235426018b019fb0b059b89c85831b13c52e24a3d86072a08297cba69b47c2cb109e662d61d2",
    "03f8840180800e825208948a0a19589531694250d570040a0c4b74576919b88080c064e1a0010000000000000000000000000000000000000000000000000000000000000001a0c9aa17b7844080053d475dc3b7201590210c8af4555c1f84766fcc621b2ed6769f7e0e6dc2e895956a065391a02e4042fd48af43980c082e9e13c9c189fbc782",
    "04f87f01808007830186a09410000000000000000000000000000000000010008080c0dbda019400000000000000000000000000000000000000008001800180a0b6beb5cb90c822a13e7d8bcfd90837bdfca12d532db712b7b38052735f572ad6a0026c6d43459f401d6b61e437825c6ae564cd935312fbe65046c924892d17241a",
];

const TYPED_SENDER: &str = "a94f5374fce5edbc8e2a8697c15331677e6ebf0b";

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn addr(s: &str) -> Address {
    Address::from_slice(&unhex(s))
}

/// A transaction with a well-formed (if unrecoverable) signature, for validation tests.
fn dummy(tx: Transaction) -> SignedTransaction {
    SignedTransaction { tx, signature: Signature { v: U256::ZERO, r: U256::from(1), s: U256::from(1) } }
}

fn dynamic_fee(gas_limit: u64) -> DynamicFeeTx {
    DynamicFeeTx { chain_id: 1, gas_limit, to: Some(Address::repeat_byte(0x11)), ..DynamicFeeTx::default() }
}

fn blob(hashes: Vec<B256>) -> Transaction {
    Transaction::Blob(BlobTx {
        chain_id: 1,
        gas_limit: 21_000,
        blob_versioned_hashes: hashes,
        ..BlobTx::default()
    })
}

#[test]
fn eip155_example() {
    let raw = unhex(EIP155_TX);
    let tx = SignedTransaction::decode(&raw).unwrap();
    assert_eq!(tx.tx_type(), TxType::Legacy);
    assert_eq!(tx.chain_id(), Some(1));
    assert_eq!(tx.encode(), raw);
    assert_eq!(
        tx.signing_hash(),
        B256::from_slice(&unhex("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"))
    );
    assert_eq!(tx.recover_sender().unwrap(), addr("9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f"));
    assert_eq!(tx.validate_for_fork(Fork::SpuriousDragon), Ok(()));
    assert_eq!(
        tx.validate_for_fork(Fork::TangerineWhistle),
        Err(TxValidationError::ReplayProtectionNotActive(Fork::TangerineWhistle))
    );
    assert_eq!(tx.check_chain_id(1), Ok(()));
    assert_eq!(tx.check_chain_id(5), Err(TxValidationError::WrongChainId { expected: 5, found: Some(1) }));
}

#[test]
fn typed_vectors_round_trip_and_recover() {
    for (i, hex_tx) in TYPED_TXS.iter().enumerate() {
        let raw = unhex(hex_tx);
        let tx = SignedTransaction::decode(&raw).unwrap();
        let tx_type = TxType::from_u8(i as u8 + 1).unwrap();
        assert_eq!(tx.tx_type(), tx_type);
        assert_eq!(tx.encode(), raw, "{tx_type}");
        assert_eq!(tx.hash(), keccak256(&raw));
        assert_eq!(tx.recover_sender().unwrap(), addr(TYPED_SENDER), "{tx_type}");
        assert_eq!(tx.check_chain_id(1), Ok(()));
        assert!(tx.check_chain_id(2).is_err());
        assert_eq!(tx.validate_for_fork(Fork::Prague), Ok(()), "{tx_type}");
        let before = Fork::ALL[tx_type.introduced_in() as usize - 1];
        assert!(matches!(tx.validate_for_fork(before), Err(TxValidationError::TypeNotSupported { .. })));
    }
}

#[test]
fn tx_env_of_blob_and_set_code() {
    let sender = addr(TYPED_SENDER);
    let blob_tx = SignedTransaction::decode(&unhex(TYPED_TXS[2])).unwrap();
    let env = blob_tx.to_tx_env(sender);
    assert_eq!(env.tx_type, 3);
    assert_eq!(env.caller, sender);
    assert_eq!(env.gas_limit, 21_000);
    assert_eq!(env.gas_price, U256::from(14));
    assert_eq!(env.max_priority_fee_per_gas, Some(U256::ZERO));
    assert_eq!(env.chain_id, Some(1));
    assert_eq!(env.blob_hashes.len(), 1);
    assert_eq!(env.max_fee_per_blob_gas, Some(U256::from(100)));
    assert_eq!(env.authorization_list, None);

    let set_code = SignedTransaction::decode(&unhex(TYPED_TXS[3])).unwrap();
    let env = set_code.to_tx_env(sender);
    let auths = env.authorization_list.unwrap();
    assert_eq!(auths.len(), 1);
    assert_eq!(auths[0].chain_id, U256::from(1));
    assert_eq!(auths[0].nonce, 0);
    assert_eq!(auths[0].y_parity, U256::from(1));
    assert_eq!(set_code.intrinsic_gas(Fork::Prague), 21_000 + 25_000);
}

#[test]
fn decode_rejects_malformed_envelopes() {
    let raw = unhex(EIP155_TX);
    assert_eq!(SignedTransaction::decode(&[]), Err(TxDecodeError::Empty));
    assert_eq!(SignedTransaction::decode(&[0x80]), Err(TxDecodeError::NotATransaction));
    assert_eq!(SignedTransaction::decode(&[0x05, 0xc0]), Err(TxDecodeError::UnsupportedType(5)));
    assert_eq!(SignedTransaction::decode(&[0x00, 0xc0]), Err(TxDecodeError::UnsupportedType(0)));
    assert_eq!(
        SignedTransaction::decode(&[0x02, 0x80]),
        Err(TxDecodeError::PayloadNotList(TxType::DynamicFee))
    );
    let mut trailing = raw.clone();
    trailing.push(0);
    assert!(matches!(
        SignedTransaction::decode(&trailing),
        Err(TxDecodeError::Envelope { source: crate::rlp::RlpError::TrailingBytes, .. })
    ));
    assert!(matches!(SignedTransaction::decode(&raw[..raw.len() - 1]), Err(TxDecodeError::Envelope { .. })));
}

/// Re-encodes a legacy field list with one item replaced by raw RLP.
fn legacy_with(items: &[&[u8]]) -> Vec<u8> {
    let payload: Vec<u8> = items.concat();
    let mut out = Vec::new();
    crate::rlp::encode_list_header(&mut out, payload.len());
    out.extend_from_slice(&payload);
    out
}

#[test]
fn decode_rejects_bad_fields() {
    let to = [&[0x94u8][..], &[0x35; 20]].concat();
    let sig: [&[u8]; 3] = [&[0x1b], &[0x01], &[0x01]];
    let base: Vec<&[u8]> = vec![&[0x09], &[0x01], &[0x82, 0x52, 0x08], &to, &[0x80], &[0x80]];
    let full = [base.clone(), sig.to_vec()].concat();
    assert!(SignedTransaction::decode(&legacy_with(&full)).is_ok());

    let few = [base.clone(), sig[..2].to_vec()].concat();
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&few)),
        Err(TxDecodeError::TooFewFields { expected: 9, .. })
    ));
    let many = [full.clone(), vec![&[0x80][..]]].concat();
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&many)),
        Err(TxDecodeError::TooManyFields { expected: 9, .. })
    ));

    let mut leading_zero = full.clone();
    leading_zero[0] = &[0x82, 0x00, 0x09];
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&leading_zero)),
        Err(TxDecodeError::Field { field: "nonce", source: crate::rlp::RlpError::LeadingZero, .. })
    ));

    let short_to = [&[0x93u8][..], &[0x35; 19]].concat();
    let mut bad_to = full.clone();
    bad_to[3] = &short_to;
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&bad_to)),
        Err(TxDecodeError::InvalidTo { len: 19, .. })
    ));

    let mut list_gas = full.clone();
    list_gas[2] = &[0xc1, 0x01];
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&list_gas)),
        Err(TxDecodeError::Field { field: "gasLimit", source: crate::rlp::RlpError::UnexpectedList, .. })
    ));

    let big_gas = [&[0x89u8][..], &[0x01; 9]].concat();
    let mut overflow = full;
    overflow[2] = &big_gas;
    assert!(matches!(
        SignedTransaction::decode(&legacy_with(&overflow)),
        Err(TxDecodeError::Field { field: "gasLimit", source: crate::rlp::RlpError::Overflow, .. })
    ));
}

#[test]
fn blob_and_set_code_need_a_recipient() {
    for (type_byte, count) in [(3u8, 14), (4, 13)] {
        let mut payload = vec![0x01];
        payload.extend(std::iter::repeat_n(0x80, 4)); // nonce, fees, gas limit
        payload.push(0x80); // empty `to`
        payload.resize(count, 0xc0);
        let mut raw = vec![type_byte];
        crate::rlp::encode_list_header(&mut raw, payload.len());
        raw.extend_from_slice(&payload);
        let tx_type = TxType::from_u8(type_byte).unwrap();
        assert_eq!(SignedTransaction::decode(&raw), Err(TxDecodeError::CreateNotAllowed(tx_type)));
    }
}

#[test]
fn signature_rules() {
    let tx = SignedTransaction::decode(&unhex(EIP155_TX)).unwrap();
    let sender = tx.recover_sender().unwrap();

    // The same signature with s mirrored and the parity flipped recovers the same sender,
    // but breaks the EIP-2 low-s rule.
    let mut high = tx.clone();
    high.signature.s = SECP256K1N - tx.signature.s;
    assert_eq!(tx.signature.v, U256::from(37));
    high.signature.v = U256::from(38);
    assert_eq!(high.recover_sender().unwrap(), sender);
    assert_eq!(high.validate_for_fork(Fork::SpuriousDragon), Err(TxValidationError::HighS));

    let mut bad = tx.clone();
    bad.signature.v = U256::from(29);
    assert_eq!(bad.recover_sender(), Err(TxValidationError::InvalidV(U256::from(29))));
    assert_eq!(bad.check_chain_id(1), Err(TxValidationError::WrongChainId { expected: 1, found: None }));
    bad.signature.v = U256::from(37);
    bad.signature.r = U256::ZERO;
    assert_eq!(bad.validate_for_fork(Fork::London), Err(TxValidationError::InvalidR));
    assert_eq!(bad.recover_sender(), Err(TxValidationError::RecoveryFailed));
    bad.signature.r = tx.signature.r;
    bad.signature.s = SECP256K1N;
    assert_eq!(bad.validate_for_fork(Fork::SpuriousDragon), Err(TxValidationError::InvalidS));

    let mut typed = dummy(Transaction::DynamicFee(dynamic_fee(21_000)));
    assert_eq!(typed.validate_for_fork(Fork::London), Ok(()));
    typed.signature.v = U256::from(2);
    assert_eq!(typed.validate_for_fork(Fork::London), Err(TxValidationError::InvalidYParity(U256::from(2))));
}

#[test]
fn gas_and_fee_rules() {
    let check = |tx: DynamicFeeTx, fork| dummy(Transaction::DynamicFee(tx)).validate_for_fork(fork);

    assert_eq!(
        check(dynamic_fee(20_999), Fork::London),
        Err(TxValidationError::IntrinsicGasTooLow { intrinsic: 21_000, gas_limit: 20_999 })
    );
    let mut tx = dynamic_fee(21_000 + 16);
    tx.data = Bytes::from_static(&[1]);
    assert_eq!(check(tx.clone(), Fork::Cancun), Ok(()));
    assert_eq!(
        check(tx, Fork::Prague),
        Err(TxValidationError::FloorGasTooLow { floor: 21_040, gas_limit: 21_016 })
    );

    let mut tx = dynamic_fee(21_000);
    tx.nonce = u64::MAX;
    assert_eq!(check(tx, Fork::London), Err(TxValidationError::NonceMax));

    let mut tx = dynamic_fee(21_000);
    tx.max_priority_fee_per_gas = U256::from(2);
    tx.max_fee_per_gas = U256::from(1);
    assert!(matches!(check(tx, Fork::London), Err(TxValidationError::PriorityFeeAboveMaxFee { .. })));

    let mut tx = dynamic_fee(21_000);
    tx.max_fee_per_gas = U256::MAX;
    assert_eq!(check(tx, Fork::London), Err(TxValidationError::GasCostOverflow));

    let big = dynamic_fee(TX_GAS_LIMIT_CAP + 1);
    assert_eq!(check(big.clone(), Fork::Prague), Ok(()));
    assert!(matches!(check(big, Fork::Osaka), Err(TxValidationError::GasLimitAboveCap { .. })));

    let mut create = dynamic_fee(10_000_000);
    create.to = None;
    create.data = Bytes::from(vec![0u8; MAX_INITCODE_SIZE + 1]);
    assert_eq!(check(create.clone(), Fork::Paris), Ok(()));
    assert_eq!(
        check(create, Fork::Shanghai),
        Err(TxValidationError::InitcodeTooLarge { size: MAX_INITCODE_SIZE + 1, max: MAX_INITCODE_SIZE })
    );
}

#[test]
fn blob_rules() {
    let good = B256::with_last_byte(1);
    let mut versioned = good;
    versioned.0[0] = 0x01;
    assert_eq!(dummy(blob(vec![])).validate_for_fork(Fork::Cancun), Err(TxValidationError::NoBlobs));
    assert_eq!(dummy(blob(vec![versioned])).validate_for_fork(Fork::Cancun), Ok(()));
    assert_eq!(
        dummy(blob(vec![versioned, good])).validate_for_fork(Fork::Cancun),
        Err(TxValidationError::InvalidBlobHashVersion { index: 1, version: 0 })
    );
    let seven = dummy(blob(vec![versioned; 7]));
    assert_eq!(seven.validate_for_fork(Fork::Prague), Ok(()));
    assert_eq!(
        seven.validate_for_fork(Fork::Osaka),
        Err(TxValidationError::TooManyBlobs { count: 7, max: MAX_BLOBS_PER_TX_OSAKA })
    );
}

#[test]
fn set_code_rules() {
    let auth = Authorization {
        chain_id: U256::ZERO,
        address: Address::ZERO,
        nonce: 0,
        y_parity: U256::from(256),
        r: U256::from(1),
        s: U256::from(1),
    };
    let mut tx = SetCodeTx { chain_id: 1, gas_limit: 100_000, ..SetCodeTx::default() };
    assert_eq!(
        dummy(Transaction::SetCode(tx.clone())).validate_for_fork(Fork::Prague),
        Err(TxValidationError::EmptyAuthorizationList)
    );
    tx.authorization_list = vec![auth];
    assert!(matches!(
        dummy(Transaction::SetCode(tx.clone())).validate_for_fork(Fork::Prague),
        Err(TxValidationError::AuthorizationYParityTooLarge { index: 0, .. })
    ));
    tx.authorization_list[0].y_parity = U256::from(1);
    let signed = dummy(Transaction::SetCode(tx));
    assert_eq!(signed.validate_for_fork(Fork::Prague), Ok(()));
    // Round trip of a hand-built transaction.
    assert_eq!(SignedTransaction::decode(&signed.encode()).unwrap(), signed);
}
