package sessionstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Prune deletes the sessions expired at the store's clock, in batches of
// PruneBatch rows each bounded by PruneStatementTimeout, and returns how
// many it deleted. Only one instance prunes a table at a time: when
// another holds the pruning lock (pg_try_advisory_lock), Prune returns at
// once with ran false. The background pruning calls it every
// PruneInterval; call it yourself to prune now.
func (s *PostgresStore) Prune(ctx context.Context) (deleted int, ran bool, err error) {
	if err := s.ensure(ctx); err != nil {
		return 0, false, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, false, s.fail("prune", err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.pruneKey).Scan(&got); err != nil {
		return 0, false, s.fail("prune", err)
	}
	if !got {
		s.cfg.Logger.Debug("sessionstore: another instance is pruning; skipped")
		return 0, false, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.QueryTimeout)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", s.pruneKey); err != nil {
			// A lock left on a pooled connection would stop all pruning:
			// close the connection, which releases it.
			_ = conn.Conn().Close(uctx)
		}
	}()
	s.pruneRuns.Add(1)
	start := time.Now()
	now := s.cfg.Now()
	setTimeout := fmt.Sprintf("SET LOCAL statement_timeout = %d", s.cfg.PruneStatementTimeout.Milliseconds())
	for ctx.Err() == nil {
		var n int64
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, setTimeout); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, s.q.prune, now, s.cfg.PruneBatch)
			n = tag.RowsAffected()
			return err
		})
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

func (s *PostgresStore) logPruned(n int, start time.Time, err error) {
	if err != nil {
		s.cfg.Logger.Warn("sessionstore: pruning stopped by an error", "count", n, "elapsed", time.Since(start), "err", err)
		return
	}
	s.cfg.Logger.Info("sessionstore: pruned expired sessions", "count", n, "elapsed", time.Since(start))
}
