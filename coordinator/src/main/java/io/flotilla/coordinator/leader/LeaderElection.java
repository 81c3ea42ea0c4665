package io.flotilla.coordinator.leader;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Elects one leader among the members with a lease in a cluster map. The holder renews it every
 * third of the lease; a member whose lease has run out (dead, or cut off from the map) stops acting
 * as leader at once, and any member may take an expired lease. Every new term draws an epoch from
 * a cluster counter (never below the wall clock in milliseconds): agents reject assignments carrying
 * an older epoch, which fences a deposed leader (Hazelcast locks carry no such token, and both
 * halves of a split can hold one).
 */
public final class LeaderElection extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderElection.class);
  static final String MAP = "flotilla.leader";
  static final String KEY = "leader";
  static final String EPOCH_COUNTER = "flotilla.leader.epoch";

  private final String memberName;
  private final Duration lease;
  private final List<Consumer<Boolean>> listeners = new ArrayList<>();
  private volatile Term term;
  private long timer = -1;
  private boolean ticking;

  /** A leadership term: who, which epoch, until when (epoch millis). */
  public record Term(String member, long epoch, long expiresAt) {
    String encode() {
      return new JsonObject().put("member", member).put("epoch", epoch).put("expiresAt", expiresAt).encode();
    }

    static Term decode(String s) {
      if (s == null) {
        return null;
      }
      JsonObject j = new JsonObject(s);
      return new Term(j.getString("member"), j.getLong("epoch"), j.getLong("expiresAt"));
    }
  }

  public LeaderElection(String memberName, Duration lease) {
    this.memberName = memberName;
    this.lease = lease;
  }

  /** Called with true on becoming leader and false on losing it, on this verticle's context. */
  public void onChange(Consumer<Boolean> listener) {
    listeners.add(listener);
  }

  /** Whether this member holds an unexpired lease right now. */
  public boolean isLeader() {
    Term t = term;
    return t != null && System.currentTimeMillis() < t.expiresAt();
  }

  /** The epoch of this member's current term; meaningful only while {@link #isLeader()}. */
  public long epoch() {
    Term t = term;
    return t == null ? 0 : t.epoch();
  }

  public String memberName() {
    return memberName;
  }

  /** The term recorded in the cluster right now (any member's), or null. */
  public Future<Term> current() {
    return map().compose(m -> m.get(KEY)).map(Term::decode);
  }

  @Override
  public Future<?> start() {
    timer = vertx.setPeriodic(0, Math.max(200, lease.toMillis() / 3), id -> tick());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    Term mine = term;
    setTerm(null);
    if (mine == null) {
      return Future.succeededFuture();
    }
    // Hand over at once rather than make the others wait out the lease.
    return map().compose(m -> m.removeIfPresent(KEY, mine.encode())).otherwiseEmpty()
        .timeout(2, java.util.concurrent.TimeUnit.SECONDS).otherwiseEmpty();
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(MAP);
  }

  private void tick() {
    if (term != null && System.currentTimeMillis() >= term.expiresAt()) {
      LOG.warn("member {}: leader lease of epoch {} ran out before it could be renewed; stepping down", memberName, term.epoch());
      setTerm(null);
    }
    if (ticking) {
      return;
    }
    ticking = true;
    map().compose(m -> m.get(KEY).compose(raw -> {
      Term current = Term.decode(raw);
      long now = System.currentTimeMillis();
      if (current != null && current.member().equals(memberName) && term != null && current.epoch() == term.epoch()) {
        Term renewed = new Term(memberName, current.epoch(), now + lease.toMillis());
        return m.replaceIfPresent(KEY, raw, renewed.encode()).map(ok -> {
          if (ok) {
            setTerm(renewed);
          } else {
            LOG.warn("member {}: lost the leader lease of epoch {}", memberName, current.epoch());
            setTerm(null);
          }
          return null;
        });
      }
      if (current != null && now < current.expiresAt()) {
        // Someone (or a previous life of this member) holds a live lease.
        if (term != null) {
          setTerm(null);
        }
        return Future.succeededFuture();
      }
      // The epoch is at least the wall clock in milliseconds, so it also grows across a coordinator rebuilt
      // from nothing (whose counter starts again at zero) and differs between the two halves of a split.
      return vertx.sharedData().getCounter(EPOCH_COUNTER).compose(c -> c.get().compose(v -> {
        long next = Math.max(v + 1, now);
        return c.compareAndSet(v, next).compose(ok -> ok ? Future.succeededFuture(next)
            : Future.failedFuture("another member drew an epoch at the same time"));
      })).compose(epoch -> {
        Term mine = new Term(memberName, epoch, now + lease.toMillis());
        Future<Boolean> won = raw == null ? m.putIfAbsent(KEY, mine.encode()).map(prev -> prev == null)
            : m.replaceIfPresent(KEY, raw, mine.encode());
        return won.map(ok -> {
          if (ok) {
            LOG.info("member {}: became leader, epoch {}{}", memberName, epoch,
                current == null ? "" : " (previous: " + current.member() + ", epoch " + current.epoch() + ")");
            setTerm(mine);
          }
          return null;
        });
      });
    })).onComplete(ar -> {
      ticking = false;
      if (ar.failed()) {
        LOG.warn("member {}: leader election step failed: {}", memberName, ar.cause().toString());
      }
    });
  }

  private void setTerm(Term t) {
    boolean was = term != null;
    term = t;
    boolean is = t != null;
    if (was != is) {
      listeners.forEach(l -> l.accept(is));
    }
  }
}
