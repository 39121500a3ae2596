package sessionstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dedw3n/hardening/internal/pglock"
)

// Prune deletes the sessions expired at the store's clock, in batches of
// PruneBatch rows each bounded by PruneStatementTimeout, and returns how
// many it deleted. Only one instance prunes a table at a time: when
// another holds the pruning lock, Prune returns at once with ran false.
// The background pruning calls it every PruneInterval; call it yourself to
// prune now.
//
// The lock is transaction-scoped (pg_try_advisory_xact_lock), held by a
// transaction that stays open while the batches commit in transactions of
// their own: it ends with Prune, even behind a transaction pooler, where a
// session-level lock could stay behind on a pooled server connection.
// Pruning so uses two of the pool's connections while it runs.
func (s *PostgresStore) Prune(ctx context.Context) (deleted int, ran bool, err error) {
	if err := s.ensure(ctx); err != nil {
		return 0, false, err
	}
	lock, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, s.fail("prune", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.QueryTimeout)
		defer cancel()
		_ = lock.Rollback(rctx) // releases the lock
	}()
	got, err := pglock.TryXact(ctx, lock, s.pruneKey)
	if err != nil {
		return 0, false, s.fail("prune", err)
	}
	if !got {
		s.cfg.Logger.Debug("sessionstore: another instance is pruning; skipped")
		return 0, false, nil
	}
	s.pruneRuns.Add(1)
	start := time.Now()
	now := s.cfg.Now()
	for ctx.Err() == nil {
		n, err := s.pruneBatch(ctx, now)
		if err != nil {
			s.logPruned(deleted, start, err)
			return deleted, true, s.fail("prune", err)
		}
		deleted += int(n)
		s.pruned.Add(uint64(n))
		if n < int64(s.cfg.PruneBatch) {
			break
		}
	}
	s.logPruned(deleted, start, nil)
	return deleted, true, ctx.Err()
}

// pruneBatch deletes up to PruneBatch sessions expired at now, in a
// transaction of its own bounded by PruneStatementTimeout.
func (s *PostgresStore) pruneBatch(ctx context.Context, now time.Time) (n int64, err error) {
	setTimeout := fmt.Sprintf("SET LOCAL statement_timeout = %d", s.cfg.PruneStatementTimeout.Milliseconds())
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTimeout); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.q.prune, now, s.cfg.PruneBatch)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

func (s *PostgresStore) logPruned(n int, start time.Time, err error) {
	if err != nil {
		s.cfg.Logger.Warn("sessionstore: pruning stopped by an error", "count", n, "elapsed", time.Since(start), "err", err)
		return
	}
	s.cfg.Logger.Info("sessionstore: pruned expired sessions", "count", n, "elapsed", time.Since(start))
}
