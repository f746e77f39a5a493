package vault

import (
	"context"
	"testing"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/zalando/go-keyring"
)

// BenchmarkParseSecret: target under 50µs per parse.
func BenchmarkParseSecret(b *testing.B) {
	file := secretKey(b)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := Parse(file); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseX509(b *testing.B) {
	for _, alg := range []struct {
		name string
		alg  testkeys.Alg
	}{{"rsa", testkeys.RSAPKCS1}, {"ec", testkeys.ECDSA}} {
		b.Run(alg.name, func(b *testing.B) {
			file, _ := x509Key(b, alg.alg)
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				if _, err := Parse(file); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchKeys(b *testing.B) map[string][]byte {
	file, _ := x509Key(b, testkeys.RSAPKCS1)
	return map[string][]byte{"secret": secretKey(b), "x509": file}
}

// BenchmarkRoundTrip is Save+Load against the real Secret Service; compare
// with BenchmarkPlainSetGet of the same bytes (target: within 2x). The
// Delete that makes room for the next Save is not timed, as the plain
// benchmark's Delete is not. The locked/unlocked pairs measure what the
// keychain lock adds to Save+Load (target: at most +10%).
func BenchmarkRoundTrip(b *testing.B) {
	harness.Require(b)
	for _, name := range []string{"secret", "x509"} {
		for _, lock := range []bool{true, false} {
			sub := name
			if !lock {
				sub += "/nolock"
			}
			b.Run(sub, func(b *testing.B) {
				key := mustParse(b, benchKeys(b)[name])
				s := Open(Options{Service: testService(b), LockDir: b.TempDir()})
				s.noLock = !lock
				ctx := context.Background()
				b.SetBytes(int64(len(key.Bytes())))
				for b.Loop() {
					if err := s.Save(ctx, key, "key.txt"); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Load(ctx, key.Tenant); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := s.Delete(ctx, key.Tenant); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkPlainSetGet is one go-keyring Set and Get of the whole key, the
// baseline for BenchmarkRoundTrip.
func BenchmarkPlainSetGet(b *testing.B) {
	harness.Require(b)
	for _, name := range []string{"secret", "x509"} {
		b.Run(name, func(b *testing.B) {
			data := string(benchKeys(b)[name])
			service := testService(b)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := keyring.Set(service, "plain", data); err != nil {
					b.Fatal(err)
				}
				got, err := keyring.Get(service, "plain")
				if err != nil || got != data {
					b.Fatalf("get: %v, same: %t", err, got == data)
				}
				b.StopTimer()
				if err := keyring.Delete(service, "plain"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSwap is a Replace beside the old way's keychain work, Delete
// then Save, on the real Secret Service: the keychain's share of a
// rotation, without the logon test (calmkeyctl's TestE2EReplaceTiming has
// the whole commands). Each iteration swaps between two keys of a tenant.
func BenchmarkSwap(b *testing.B) {
	harness.Require(b)
	for _, name := range []string{"secret", "x509"} {
		for _, how := range []string{"replace", "delete+save"} {
			b.Run(name+"/"+how, func(b *testing.B) {
				var keys [2]*Key
				if name == "secret" {
					keys = [2]*Key{mustParse(b, secretKey(b)), mustParse(b, testkeys.SecretKey(testkeys.Fields{Secret: "another-secret-0a1b2c3d"}))}
				} else {
					k1, _ := x509Key(b, testkeys.RSAPKCS1)
					k2, _ := x509Key(b, testkeys.RSAPKCS1)
					keys = [2]*Key{mustParse(b, k1), mustParse(b, k2)}
				}
				s := Open(Options{Service: testService(b), LockDir: b.TempDir()})
				ctx := context.Background()
				if err := s.Save(ctx, keys[0], "key.txt"); err != nil {
					b.Fatal(err)
				}
				st, err := s.Load(ctx, keys[0].Tenant)
				if err != nil {
					b.Fatal(err)
				}
				i := 1
				for b.Loop() {
					if how == "replace" {
						st, err = s.Replace(ctx, st.Identity(), keys[i], "key.txt")
					} else if err = s.Delete(ctx, keys[i].Tenant); err == nil {
						err = s.Save(ctx, keys[i], "key.txt")
					}
					if err != nil {
						b.Fatal(err)
					}
					i = 1 - i
				}
			})
		}
	}
}
