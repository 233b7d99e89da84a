//! The 2048-bit logs bloom of receipts and block headers (yellow paper, section 4.3.1).
//!
//! Each log adds its address and every topic. An entry sets three bits: for each of the first
//! three big-endian 16-bit words of its keccak-256, the low 11 bits name a bit counted from
//! the least significant end of the 256-byte filter (so bit 0 is the lowest bit of the last
//! byte).

use metisvm_vm::{keccak256, Log};
use std::fmt;

/// A 2048-bit logs bloom filter.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bloom(pub [u8; 256]);

impl Default for Bloom {
    fn default() -> Self {
        Bloom::ZERO
    }
}

impl Bloom {
    /// The empty filter.
    pub const ZERO: Bloom = Bloom([0; 256]);

    /// The bloom of `logs`.
    pub fn from_logs<'a>(logs: impl IntoIterator<Item = &'a Log>) -> Bloom {
        let mut bloom = Bloom::ZERO;
        for log in logs {
            bloom.accrue_log(log);
        }
        bloom
    }

    /// A filter from its 256 bytes; `None` for another length.
    pub fn from_slice(bytes: &[u8]) -> Option<Bloom> {
        <[u8; 256]>::try_from(bytes).ok().map(Bloom)
    }

    /// Adds one entry (an address or a topic).
    pub fn accrue(&mut self, entry: &[u8]) {
        let hash = keccak256(entry);
        for i in [0, 2, 4] {
            let bit = usize::from(u16::from_be_bytes([hash[i], hash[i + 1]]) & 0x07ff);
            self.0[255 - bit / 8] |= 1 << (bit % 8);
        }
    }

    /// Adds a log's address and topics.
    pub fn accrue_log(&mut self, log: &Log) {
        self.accrue(log.address.as_slice());
        for topic in &log.topics {
            self.accrue(topic.as_slice());
        }
    }

    /// Sets every bit set in `other` (the block bloom is the union of its receipts' blooms).
    pub fn union(&mut self, other: &Bloom) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
    }

    /// Whether every bit of `other` is set here.
    pub fn contains(&self, other: &Bloom) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a & b == *b)
    }

    /// The number of bits set.
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }
}

impl fmt::Display for Bloom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Bloom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bloom({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::{Address, Bytes, B256};

    #[test]
    fn empty_input_sets_the_three_bits_of_its_hash() {
        // keccak256("") = c5d2 4601 86f7 ...: bits 0x5d2 = 1490, 0x601 = 1537, 0x6f7 = 1783,
        // that is byte 255 - 186 bit 2, byte 255 - 192 bit 1, byte 255 - 222 bit 7.
        let mut bloom = Bloom::ZERO;
        bloom.accrue(&[]);
        let mut expected = [0u8; 256];
        expected[69] = 0x04;
        expected[63] = 0x02;
        expected[33] = 0x80;
        assert_eq!(bloom, Bloom(expected));
        assert_eq!(bloom.count_ones(), 3);
    }

    #[test]
    fn logs_add_address_and_topics() {
        let log = Log {
            address: Address::with_last_byte(1),
            topics: vec![B256::with_last_byte(2), B256::with_last_byte(3)],
            data: Bytes::from(vec![0xaa; 40]),
        };
        let bloom = Bloom::from_logs([&log]);
        let mut by_hand = Bloom::ZERO;
        by_hand.accrue(log.address.as_slice());
        by_hand.accrue(log.topics[0].as_slice());
        by_hand.accrue(log.topics[1].as_slice());
        assert_eq!(bloom, by_hand);
        // Data is not part of the filter.
        let no_data = Log { data: Bytes::new(), ..log.clone() };
        assert_eq!(Bloom::from_logs([&no_data]), bloom);
        assert!(bloom.count_ones() >= 1 && bloom.count_ones() <= 9);

        let mut address_only = Bloom::ZERO;
        address_only.accrue(log.address.as_slice());
        assert!(bloom.contains(&address_only));
        let mut other = Bloom::ZERO;
        other.accrue(&[0x55]);
        let mut both = bloom;
        both.union(&other);
        assert!(both.contains(&bloom) && both.contains(&other));
        assert_eq!(Bloom::from_logs([]), Bloom::ZERO);
    }

    #[test]
    fn display_and_from_slice_round_trip() {
        let mut bloom = Bloom::ZERO;
        bloom.accrue(b"metis");
        let text = bloom.to_string();
        assert_eq!(text.len(), 2 + 512);
        let bytes = hex::decode(&text[2..]).unwrap();
        assert_eq!(Bloom::from_slice(&bytes), Some(bloom));
        assert_eq!(Bloom::from_slice(&bytes[1..]), None);
    }
}
