using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>A row of the messages table (spec §4 columns plus kafka_partition, kafka_offset and undecodable).</summary>
public sealed record IndexRow(long Id, string Topic, long Timestamp, string Uuid, int Size, string Key, string Bucket,
    long Crc32, bool IsClientUuid, long MessageCrc32, int Partition, long Offset, bool Undecodable)
{
    public TopicArchiveRecord ToRecord() =>
        new(Id, Topic, Timestamp, Uuid, Size, Key, Bucket, Crc32, IsClientUuid, MessageCrc32, Partition, Offset, Undecodable);
}

/// <summary>Filter for record queries; null members do not filter.</summary>
public sealed record RecordQuery(string[]? Uuids = null, string? Topic = null, long? FromMs = null, long? ToMs = null, int? Limit = null);

/// <summary>
/// The archive index in SQLite (embedded default) or PostgreSQL, with the same table in both: the housekeeping
/// columns, a UNIQUE uuid, the housekeeping indexes and one on the dedupe identity (topic, timestamp, message_crc32).
/// Every statement is parameterised.
/// </summary>
public sealed class ArchiveIndex : IDisposable
{
    private readonly bool _postgres;
    private readonly NpgsqlDataSource? _pg;
    private readonly SqliteConnection? _sqlite;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private const string Columns = "id, topic, timestamp, uuid, size, key, bucket, crc32, is_client_uuid, message_crc32, kafka_partition, kafka_offset, undecodable";

    private ArchiveIndex(NpgsqlDataSource? pg, SqliteConnection? sqlite, string description)
    {
        _pg = pg;
        _sqlite = sqlite;
        _postgres = pg is not null;
        Description = description;
    }

    /// <summary>Where the index is, for messages (no password).</summary>
    public string Description { get; }
    public bool IsPostgres => _postgres;

    public static ArchiveIndex OpenSqlite(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            c.Open();
            using (var pragma = c.CreateCommand())
            {
                pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;";
                pragma.ExecuteNonQuery();
            }
            var index = new ArchiveIndex(null, c, path);
            index.EnsureSchema();
            return index;
        }
        catch (SqliteException ex)
        {
            throw new HpcException("IndexUnavailable", HpcErrorKind.ResourceUnavailable, $"Cannot open the SQLite index '{path}': {ex.Message}", path, ex);
        }
    }

    public static ArchiveIndex OpenPostgres(string connectionString, string? user = null, string? password = null)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        if (user is not null) b.Username = user;
        if (password is not null) b.Password = password;
        b.Timeout = Math.Min(b.Timeout, 15);
        var description = $"postgresql://{b.Username}@{b.Host}:{b.Port}/{b.Database}";
        var index = new ArchiveIndex(NpgsqlDataSource.Create(b.ConnectionString), null, description);
        try { index.EnsureSchema(); }
        catch (HpcException) { index.Dispose(); throw; }
        return index;
    }

    private void EnsureSchema()
    {
        var idType = _postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
        Run(c =>
        {
            Exec(c, null, $@"CREATE TABLE IF NOT EXISTS messages (
                id {idType},
                topic TEXT NOT NULL,
                timestamp BIGINT NOT NULL,
                uuid TEXT NOT NULL,
                size INTEGER NOT NULL,
                key TEXT NOT NULL,
                bucket TEXT NOT NULL,
                crc32 BIGINT NOT NULL,
                is_client_uuid BOOLEAN NOT NULL,
                message_crc32 BIGINT NOT NULL,
                kafka_partition INTEGER NOT NULL DEFAULT -1,
                kafka_offset BIGINT NOT NULL DEFAULT -1,
                undecodable BOOLEAN NOT NULL DEFAULT FALSE)");
            Exec(c, null, "CREATE UNIQUE INDEX IF NOT EXISTS messages_uuid_idx ON messages (uuid)");
            Exec(c, null, "CREATE INDEX IF NOT EXISTS timestamp_idx ON messages (timestamp)");
            Exec(c, null, "CREATE INDEX IF NOT EXISTS topic_idx ON messages (topic)");
            Exec(c, null, "CREATE INDEX IF NOT EXISTS messages_dedupe_idx ON messages (topic, timestamp, message_crc32)");
            return 0;
        });
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------

    private T Run<T>(Func<DbConnection, T> work)
    {
        _gate.Wait();
        try
        {
            if (_sqlite is not null) return work(_sqlite);
            using var c = _pg!.OpenConnection();
            return work(c);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException and not ObjectDisposedException || ex is System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new HpcException("IndexUnavailable", HpcErrorKind.ResourceUnavailable, $"Index {Description}: {ex.Message}", Description, ex);
        }
        finally { _gate.Release(); }
    }

    private static DbCommand Cmd(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static int Exec(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static IndexRow ReadRow(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt32(4), r.GetString(5), r.GetString(6),
        r.GetInt64(7), r.GetBoolean(8), r.GetInt64(9), r.GetInt32(10), r.GetInt64(11), r.GetBoolean(12));

    // ---- dedupe and insert -------------------------------------------------------------------------------------

    /// <summary>The stored message crc32 for each uuid already present (client-uuid rule).</summary>
    public Dictionary<string, long> FindUuids(IReadOnlyCollection<string> uuids)
    {
        var found = new Dictionary<string, long>();
        if (uuids.Count == 0) return found;
        return Run(c =>
        {
            if (_postgres)
            {
                using var cmd = Cmd(c, null, "SELECT uuid, message_crc32 FROM messages WHERE uuid = ANY(@u)", ("u", uuids.ToArray()));
                using var r = cmd.ExecuteReader();
                while (r.Read()) found[r.GetString(0)] = r.GetInt64(1);
            }
            else
            {
                using var cmd = Cmd(c, null, "SELECT message_crc32 FROM messages WHERE uuid = @u", ("u", ""));
                foreach (var u in uuids)
                {
                    cmd.Parameters[0].Value = u;
                    if (cmd.ExecuteScalar() is long crc) found[u] = crc;
                }
            }
            return found;
        });
    }

    /// <summary>Which (topic, timestamp, message_crc32) identities already have a row (server-uuid rule).</summary>
    public HashSet<(string Topic, long Timestamp, long MessageCrc32)> FindContent(IReadOnlyCollection<(string Topic, long Timestamp, long MessageCrc32)> keys)
    {
        var found = new HashSet<(string, long, long)>();
        if (keys.Count == 0) return found;
        return Run(c =>
        {
            if (_postgres)
            {
                using var cmd = Cmd(c, null,
                    "SELECT m.topic, m.timestamp, m.message_crc32 FROM messages m JOIN unnest(@t, @ts, @c) AS k(topic, ts, crc) " +
                    "ON m.topic = k.topic AND m.timestamp = k.ts AND m.message_crc32 = k.crc",
                    ("t", keys.Select(k => k.Topic).ToArray()), ("ts", keys.Select(k => k.Timestamp).ToArray()), ("c", keys.Select(k => k.MessageCrc32).ToArray()));
                using var r = cmd.ExecuteReader();
                while (r.Read()) found.Add((r.GetString(0), r.GetInt64(1), r.GetInt64(2)));
            }
            else
            {
                using var cmd = Cmd(c, null, "SELECT 1 FROM messages WHERE topic = @t AND timestamp = @ts AND message_crc32 = @c LIMIT 1", ("t", ""), ("ts", 0L), ("c", 0L));
                foreach (var k in keys)
                {
                    cmd.Parameters[0].Value = k.Topic;
                    cmd.Parameters[1].Value = k.Timestamp;
                    cmd.Parameters[2].Value = k.MessageCrc32;
                    if (cmd.ExecuteScalar() is not null) found.Add(k);
                }
            }
            return found;
        });
    }

    /// <summary>Inserts rows in one transaction; a uuid already present is skipped. Returns the number inserted.</summary>
    public int InsertBatch(IReadOnlyList<IndexRow> rows)
    {
        if (rows.Count == 0) return 0;
        const string sql = "INSERT INTO messages (topic, timestamp, uuid, size, key, bucket, crc32, is_client_uuid, message_crc32, kafka_partition, kafka_offset, undecodable) " +
                           "VALUES (@topic, @ts, @uuid, @size, @key, @bucket, @crc, @client, @mcrc, @part, @off, @undec) ON CONFLICT (uuid) DO NOTHING";
        return Run(c =>
        {
            using var tx = c.BeginTransaction();
            var inserted = 0;
            if (c.CanCreateBatch)
            {
                using var batch = c.CreateBatch();
                batch.Transaction = tx;
                foreach (var row in rows)
                {
                    var bc = batch.CreateBatchCommand();
                    bc.CommandText = sql;
                    foreach (var (n, v) in RowArgs(row))
                    {
                        var p = bc.CreateParameter();
                        p.ParameterName = n;
                        p.Value = v;
                        bc.Parameters.Add(p);
                    }
                    batch.BatchCommands.Add(bc);
                }
                batch.ExecuteNonQuery();
                foreach (DbBatchCommand bc in batch.BatchCommands) inserted += bc.RecordsAffected;
            }
            else
            {
                using var cmd = Cmd(c, tx, sql, RowArgs(rows[0]));
                foreach (var row in rows)
                {
                    var i = 0;
                    foreach (var (_, v) in RowArgs(row)) cmd.Parameters[i++].Value = v;
                    inserted += cmd.ExecuteNonQuery();
                }
            }
            tx.Commit();
            return inserted;
        });
    }

    private static (string, object?)[] RowArgs(IndexRow r) =>
    [
        ("topic", r.Topic), ("ts", r.Timestamp), ("uuid", r.Uuid), ("size", r.Size), ("key", r.Key), ("bucket", r.Bucket),
        ("crc", r.Crc32), ("client", r.IsClientUuid), ("mcrc", r.MessageCrc32), ("part", r.Partition), ("off", r.Offset), ("undec", r.Undecodable),
    ];

    // ---- queries -----------------------------------------------------------------------------------------------

    public List<IndexRow> Query(RecordQuery q)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (q.Uuids is { Length: > 0 })
        {
            var names = new List<string>();
            for (var i = 0; i < q.Uuids.Length; i++) { names.Add("@u" + i); args.Add(("u" + i, q.Uuids[i].ToLowerInvariant())); }
            where.Add($"uuid IN ({string.Join(", ", names)})");
        }
        if (q.Topic is not null) { where.Add("topic = @topic"); args.Add(("topic", q.Topic)); }
        if (q.FromMs is not null) { where.Add("timestamp >= @from"); args.Add(("from", q.FromMs.Value)); }
        if (q.ToMs is not null) { where.Add("timestamp < @to"); args.Add(("to", q.ToMs.Value)); }
        var sql = $"SELECT {Columns} FROM messages" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY timestamp, id";
        if (q.Limit is not null) { sql += " LIMIT @limit"; args.Add(("limit", (long)q.Limit.Value)); }
        return Run(c =>
        {
            using var cmd = Cmd(c, null, sql, args.ToArray());
            using var r = cmd.ExecuteReader();
            var list = new List<IndexRow>();
            while (r.Read()) list.Add(ReadRow(r));
            return list;
        });
    }

    /// <summary>Rows of topics matching a LIKE pattern (for verification), in id order.</summary>
    public List<IndexRow> RowsLike(string topicPattern) => Run(c =>
    {
        using var cmd = Cmd(c, null, $"SELECT {Columns} FROM messages WHERE topic LIKE @p ORDER BY id", ("p", topicPattern));
        using var r = cmd.ExecuteReader();
        var list = new List<IndexRow>();
        while (r.Read()) list.Add(ReadRow(r));
        return list;
    });

    public long Count() => Run(c =>
    {
        using var cmd = Cmd(c, null, "SELECT COUNT(*) FROM messages");
        return Convert.ToInt64(cmd.ExecuteScalar());
    });

    /// <summary>Per-topic status since <paramref name="sinceMs"/> (spec §6 status).</summary>
    public List<(string Topic, long Messages, long Bytes, string SampleUuid, long Earliest, long Latest)> Status(long? sinceMs) => Run(c =>
    {
        var sql = "SELECT topic, COUNT(*), SUM(size), MAX(uuid), MIN(timestamp), MAX(timestamp) FROM messages" +
                  (sinceMs is null ? "" : " WHERE timestamp >= @since") + " GROUP BY topic ORDER BY topic";
        using var cmd = sinceMs is null ? Cmd(c, null, sql) : Cmd(c, null, sql, ("since", sinceMs.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<(string, long, long, string, long, long)>();
        while (r.Read()) list.Add((r.GetString(0), r.GetInt64(1), Convert.ToInt64(r.GetValue(2)), r.GetString(3), r.GetInt64(4), r.GetInt64(5)));
        return list;
    });

    /// <summary>
    /// Rows that duplicate an earlier row (lowest id kept): same uuid, or same topic + timestamp + message_crc32 (the
    /// dedupe identity; the original grouped by topic, size, timestamp, which misses messages re-annotated differently).
    /// </summary>
    public List<IndexRow> Duplicates() => Run(c =>
    {
        var sql = $@"SELECT {Columns} FROM messages m WHERE EXISTS (
                        SELECT 1 FROM messages o WHERE o.id < m.id AND (o.uuid = m.uuid OR
                        (o.topic = m.topic AND o.timestamp = m.timestamp AND o.message_crc32 = m.message_crc32)))
                     ORDER BY m.id";
        using var cmd = Cmd(c, null, sql);
        using var r = cmd.ExecuteReader();
        var list = new List<IndexRow>();
        while (r.Read()) list.Add(ReadRow(r));
        return list;
    });

    public int CountKeyReferences(string key) => Run(c =>
    {
        using var cmd = Cmd(c, null, "SELECT COUNT(*) FROM messages WHERE key = @k", ("k", key));
        return Convert.ToInt32(cmd.ExecuteScalar());
    });

    public int DeleteRows(IReadOnlyCollection<long> ids)
    {
        if (ids.Count == 0) return 0;
        return Run(c =>
        {
            using var tx = c.BeginTransaction();
            using var cmd = Cmd(c, tx, "DELETE FROM messages WHERE id = @id", ("id", 0L));
            var n = 0;
            foreach (var id in ids) { cmd.Parameters[0].Value = id; n += cmd.ExecuteNonQuery(); }
            tx.Commit();
            return n;
        });
    }

    /// <summary>Runs a raw parameterised statement; for tests that plant faults and for the benchmark.</summary>
    internal int ExecuteForTest(string sql, params (string, object?)[] args) => Run(c => Exec(c, null, sql, args));

    public void Dispose()
    {
        _sqlite?.Dispose();
        _pg?.Dispose();
        _gate.Dispose();
    }
}
