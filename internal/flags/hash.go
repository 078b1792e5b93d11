package flags

import (
	"crypto/md5"
	"encoding/binary"
	"math"
)

// hashBufSize covers a maximal key (64), the colon and a UUID on the stack;
// longer inputs take a heap buffer.
const hashBufSize = 128

// Bucket is the seed's rollout bucket of an entity for a flag:
// MD5("<key>:<entity_id>") read as an unsigned 128-bit big-endian integer,
// modulo 100. Ruby's Digest::MD5.hexdigest(...).to_i(16) % 100 gives the
// same number, so a tenant moved from the Rails application keeps the same
// entities in each rollout.
func Bucket(key, entityID string) int {
	return int(mod(rolloutDigest(key, entityID), 100))
}

// rolloutDigest is MD5("<key>:<entity_id>"). Inputs that fit (a UUID under
// a 64-byte key does) are hashed from a 64-byte stack buffer: md5 pads one
// block either way, and a smaller buffer is less to clear.
func rolloutDigest(key, entityID string) [md5.Size]byte {
	if len(key)+1+len(entityID) > 64 {
		return digest(key, ":", entityID)
	}
	var buf [64]byte
	n := copy(buf[:], key)
	buf[n] = ':'
	n++
	n += copy(buf[n:], entityID)
	return md5.Sum(buf[:n])
}

// variantBucket places an entity among a flag's variants (modulo the sum of
// their weights). The input differs from the rollout's so that which variant
// an entity sees does not depend on how early it entered the rollout; '/'
// cannot occur in a key, so it never equals a rollout input.
func variantBucket(key, entityID string, total uint64) uint64 {
	return mod(digest(key, "/variant:", entityID), total)
}

func digest(key, sep, entityID string) [md5.Size]byte {
	n := len(key) + len(sep) + len(entityID)
	if n > hashBufSize {
		return md5.Sum([]byte(key + sep + entityID))
	}
	var buf [hashBufSize]byte
	i := copy(buf[:], key)
	i += copy(buf[i:], sep)
	i += copy(buf[i:], entityID)
	return md5.Sum(buf[:i])
}

// mod reduces the 128-bit big-endian integer in sum modulo m (0 < m < 2^32)
// without big.Int: sum = hi·2^64 + lo, so sum mod m is
// ((hi mod m)·(2^64 mod m) + lo mod m) mod m, and each product stays below
// 2^64 because both factors are below m.
func mod(sum [md5.Size]byte, m uint64) uint64 {
	hi := binary.BigEndian.Uint64(sum[:8])
	lo := binary.BigEndian.Uint64(sum[8:])
	if m == 100 { // the rollout's case, with constant divisors the compiler turns into multiplications
		return (hi%100*(pow64mod100) + lo%100) % 100
	}
	p := (math.MaxUint64%m + 1) % m
	return (hi%m*p + lo%m) % m
}

// pow64mod100 is 2^64 mod 100 (18446744073709551616 ends in 16).
const pow64mod100 = 16
