package io.flotilla.agent;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.S3Server;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Configs, sample data and database fingerprints shared by the agent's integration tests. */
public final class Fixtures {
  public static final String PASSPHRASE = "correct horse battery staple";

  private Fixtures() {}

  /** Writes a passphrase file and an agent config for {@code cluster} with one repository. */
  public static Path config(Path dir, PostgresCluster cluster, String repoUrl, String endpoint) throws IOException {
    return config(dir, cluster, repoUrl, endpoint, PASSPHRASE);
  }

  public static Path config(Path dir, PostgresCluster cluster, String repoUrl, String endpoint, String passphrase) throws IOException {
    Files.createDirectories(dir);
    Path pass = dir.resolve("passphrase");
    Files.writeString(pass, passphrase + "\n");
    String yaml = "host: db1\n"
        + "postgres:\n"
        + "  url: " + cluster.url() + "\n"
        + "  bin: " + cluster.bin() + "\n"
        + "repositories:\n"
        + "  - name: primary\n"
        + "    url: " + repoUrl + "\n"
        + (endpoint != null ? "    endpoint: " + endpoint + "\n" : "")
        + "encryption:\n"
        + "  passphrase-file: " + pass + "\n"
        + "compression:\n"
        + "  algorithm: zstd\n"
        + "  level: 3\n"
        + "lock-directory: " + dir + "\n";
    Path config = dir.resolve("agent.yaml");
    Files.writeString(config, yaml);
    return config;
  }

  public static Path s3Config(Path dir, PostgresCluster cluster, S3Server s3, String bucket) throws IOException {
    return config(dir, cluster, "s3://" + bucket + "/flotilla", s3.endpoint());
  }

  /**
   * A database that exercises what a logical backup must carry: every common type with NULLs and
   * non-ASCII text, several schemas, non-ASCII identifiers, a partitioned table, views, a
   * materialized view, sequences advanced past their start, large objects, comments.
   */
  public static void createFidelityDatabase(PostgresCluster pg, String db) {
    pg.psql("postgres", "CREATE DATABASE " + ident(db));
    pg.psql(db, """
        CREATE SCHEMA sales;
        CREATE SCHEMA "Über_schema";
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE public.all_types (
          id bigserial PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(20,6), r real, d double precision,
          b boolean, t text, vc varchar(50), c char(5), by bytea, dt date, ts timestamp, tstz timestamptz, tm time,
          iv interval, u uuid, j json, jb jsonb, arr int[], tarr text[], ip inet, net cidr, mac macaddr, m mood,
          pt point, rng int4range, bits bit varying(16), x xml, cash money, tsv tsvector);
        INSERT INTO public.all_types (i2, i4, i8, n, r, d, b, t, vc, c, by, dt, ts, tstz, tm, iv, u, j, jb, arr, tarr, ip, net, mac, m, pt, rng, bits, x, cash, tsv)
        SELECT (i % 30000)::smallint, i * 7, i::bigint * 1000000007, i / 7.0, i / 3.0, i / 11.0, i % 2 = 0,
               CASE WHEN i % 10 = 0 THEN NULL ELSE 'row ' || i || ' — ünïcödé ✓ 日本語 ' || md5(i::text) END,
               left(md5(i::text), 20), left(md5((i * 3)::text), 5), decode(md5(i::text), 'hex'),
               DATE '2020-01-01' + i, TIMESTAMP '2020-01-01 00:00:00' + i * INTERVAL '37 minutes',
               TIMESTAMPTZ '2020-01-01 00:00:00+00' + i * INTERVAL '61 seconds', TIME '00:00' + i * INTERVAL '13 seconds',
               i * INTERVAL '1 hour 3 minutes', md5(i::text)::uuid, json_build_object('k', i, 'v', 'x' || i),
               jsonb_build_object('n', i, 'arr', jsonb_build_array(i, i + 1), 'ü', 'ß'), ARRAY[i, i + 1, NULL], ARRAY['a' || i, 'ö'],
               ('10.0.' || (i % 255) || '.' || (i % 200))::inet, '192.168.0.0/16'::cidr, '08:00:2b:01:02:03'::macaddr,
               (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, point(i, -i), int4range(i, i + 10),
               (i % 65536)::bit(16)::varbit, ('<r><v>' || i || '</v></r>')::xml, (i * 1.25)::money,
               to_tsvector('simple', 'alpha beta ' || i)
        FROM generate_series(1, 3000) i;
        INSERT INTO public.all_types (t) VALUES (NULL), ('');
        CREATE TABLE "Über_schema"."Größe" ("ключ" int PRIMARY KEY, "值" text NOT NULL);
        INSERT INTO "Über_schema"."Größe" SELECT i, 'wert ' || i || ' 価値' FROM generate_series(1, 500) i;
        CREATE TABLE sales.orders (id int, region text, amount numeric(12,2), created date NOT NULL) PARTITION BY RANGE (created);
        CREATE TABLE sales.orders_2025 PARTITION OF sales.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE sales.orders_2026 PARTITION OF sales.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        INSERT INTO sales.orders SELECT i, (ARRAY['north', 'south', 'east'])[1 + i % 3], (i * 13) % 1000, DATE '2025-01-01' + (i % 700)
        FROM generate_series(1, 4000) i;
        CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 500;
        CREATE MATERIALIZED VIEW sales.totals AS SELECT region, sum(amount) AS total FROM sales.orders GROUP BY region;
        CREATE SEQUENCE sales.invoice_no START 1000;
        SELECT nextval('sales.invoice_no') FROM generate_series(1, 37);
        SELECT lo_from_bytea(0, convert_to(repeat('large object ' || i || ' ', 2000), 'UTF8')) FROM generate_series(1, 5) i;
        COMMENT ON TABLE sales.orders IS 'Bestellungen — orders';
        """);
  }

  /**
   * A fingerprint of everything a user would compare after a restore: every table's and
   * materialized view's rows (md5 of the sorted rows), sequence positions, large objects, view
   * definitions, partition structure and comments.
   */
  public static Map<String, String> fingerprint(PostgresCluster pg, String db) {
    Map<String, String> out = new TreeMap<>();
    String relations = pg.psql(db, """
        SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL SELECT format('%I.%I', schemaname, matviewname) FROM pg_matviews
        ORDER BY 1""");
    for (String rel : relations.lines().filter(l -> !l.isBlank()).toList()) {
      out.put("rows " + rel, pg.psql(db, "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM " + rel + " x"));
    }
    out.put("sequences", pg.psql(db, "SELECT string_agg(format('%I.%I=%s', schemaname, sequencename, last_value), ',' ORDER BY 1) FROM pg_sequences"));
    out.put("large objects", pg.psql(db, "SELECT count(*) || ':' || coalesce(string_agg(md5(lo_get(oid)), ',' ORDER BY md5(lo_get(oid))), '') FROM pg_largeobject_metadata"));
    out.put("views", pg.psql(db, "SELECT string_agg(schemaname || '.' || viewname || '=' || definition, E'\\n' ORDER BY viewname) FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"));
    out.put("partitions", pg.psql(db, "SELECT string_agg(inhrelid::regclass || '<' || inhparent::regclass, ',' ORDER BY 1) FROM pg_inherits"));
    out.put("comments", pg.psql(db, "SELECT string_agg(description, ',' ORDER BY description) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"));
    return out;
  }

  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** Databases whose names start with {@code prefix}: temporary restore databases must never linger. */
  public static List<String> databasesLike(PostgresCluster pg, String prefix) {
    String out = pg.psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + prefix.replace("'", "''") + "%' ORDER BY 1");
    return new ArrayList<>(out.lines().filter(l -> !l.isBlank()).toList());
  }
}
