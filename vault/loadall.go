package vault

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// Entry is one tenant's key as LoadAll read it: Stored, or Err when the key
// is damaged (an error matching ErrCorrupt). Tenant is "" for a damaged
// index, which hides which tenants are stored.
type Entry struct {
	Tenant string
	Stored *Stored
	Err    error
}

// LoadAll loads every stored tenant's key: List, then Load of each,
// LoadsAtOnce at a time, sorted by tenant. A damaged key is an Entry with
// Err (matching ErrCorrupt); a tenant deleted between the List and its Load
// is left out; a damaged index is one Entry with Tenant "" and Err matching
// ErrCorrupt (Delete(ctx, "") replaces it). Any other error (timeout,
// keychain unavailable, busy) fails the call. Each List and Load has the
// Store's deadline.
func (s *Store) LoadAll(ctx context.Context) ([]Entry, error) {
	list, err := s.List(ctx)
	switch {
	case errors.Is(err, ErrCorrupt):
		return []Entry{{Err: err}}, nil
	case err != nil:
		return nil, err
	}
	out := make([]Entry, len(list))
	gone := make([]bool, len(list))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(LoadsAtOnce)
	for i, sum := range list {
		out[i].Tenant = sum.Tenant
		g.Go(func() error {
			st, err := s.Load(gctx, sum.Tenant)
			switch {
			case err == nil:
				out[i].Stored = st
			case errors.Is(err, ErrNotFound):
				gone[i] = true
			case errors.Is(err, ErrCorrupt):
				out[i].Err = err
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, e := range out {
		if !gone[i] {
			kept = append(kept, e)
		}
	}
	return kept, nil
}
