using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// The on-disk state of one hot directory (SQLite, WAL): the catalogue of files already posted (path + size + mtime)
/// and the work table. In embedded mode the work table is the queue itself; with a broker it holds only retries
/// and dead letters. Posting a file and recording it in the catalogue are one transaction in embedded mode.
/// </summary>
public sealed class HotDirectoryStore
{
    public const int Ready = 0, Leased = 1, Dead = 2;
    private readonly string _connectionString;

    public HotDirectoryStore(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        DatabasePath = Path.Combine(stateDirectory, "hotdirectory.db");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, DefaultTimeout = 60, Pooling = true }.ToString();
        using var c = Open();
        Exec(c, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS posted(rel_path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ticks INTEGER NOT NULL, posted_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS work(id INTEGER PRIMARY KEY AUTOINCREMENT, routing_key TEXT NOT NULL, body TEXT NOT NULL,
                rel_path TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL,
                last_error TEXT, enqueued INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS work_ready ON work(state, next_attempt, id);
            """);
    }

    public string DatabasePath { get; }

    public static bool Exists(string stateDirectory) => File.Exists(Path.Combine(stateDirectory, "hotdirectory.db"));

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        // WAL + NORMAL survives any process crash (kill -9); a power loss can only drop the newest commits, and every
        // one of them is re-derived safely: the watcher re-posts files missing from the catalogue, re-delivered
        // messages find their file already verified at the destination.
        Exec(c, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000;");
        return c;
    }

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null, params (string, object?)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // ---- catalogue ---------------------------------------------------------------------------------------------

    public Dictionary<string, (long Size, long MTimeTicks)> LoadCatalog()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT rel_path, size, mtime_ticks FROM posted";
        var result = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        using var r = cmd.ExecuteReader();
        while (r.Read()) result[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2));
        return result;
    }

    /// <summary>Applies the catalogue changes of posted messages in one transaction.</summary>
    public void ApplyCatalog(IEnumerable<CatalogChange> changes)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        foreach (var change in changes) Apply(c, tx, change);
        tx.Commit();
    }

    public void ForgetPosted(string relPath)
    {
        using var c = Open();
        Exec(c, "DELETE FROM posted WHERE rel_path=$p", null, ("$p", relPath));
    }

    private static void Upsert(SqliteConnection c, SqliteTransaction? tx, string relPath, long size, long mtimeTicks) =>
        Exec(c, "INSERT INTO posted(rel_path,size,mtime_ticks,posted_at) VALUES($p,$s,$m,$t) ON CONFLICT(rel_path) DO UPDATE SET size=$s, mtime_ticks=$m, posted_at=$t",
            tx, ("$p", relPath), ("$s", size), ("$m", mtimeTicks), ("$t", Now));

    // ---- work table --------------------------------------------------------------------------------------------

    /// <summary>Adds messages (ready now) and, in the same transaction, applies their catalogue changes.</summary>
    public void Enqueue(IReadOnlyList<OutgoingMessage> messages)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO work(routing_key,body,rel_path,state,attempts,next_attempt,last_error,enqueued) VALUES($k,$b,$p,0,0,0,NULL,$t)";
        var k = insert.Parameters.Add("$k", SqliteType.Text);
        var b = insert.Parameters.Add("$b", SqliteType.Text);
        var p = insert.Parameters.Add("$p", SqliteType.Text);
        insert.Parameters.AddWithValue("$t", Now);
        foreach (var m in messages)
        {
            k.Value = m.RoutingKey;
            b.Value = m.Body;
            p.Value = m.Change?.RelPath ?? "";
            insert.ExecuteNonQuery();
            Apply(c, tx, m.Change);
        }
        tx.Commit();
    }

    /// <summary>Adds one message in a given state (a retry or dead letter of a broker message).</summary>
    public void Enqueue(string routingKey, string body, string relPath, int attempts, long notBefore, string? lastError, int state)
    {
        using var c = Open();
        Exec(c, "INSERT INTO work(routing_key,body,rel_path,state,attempts,next_attempt,last_error,enqueued) VALUES($k,$b,$p,$s,$a,$n,$e,$t)", null,
            ("$s", state), ("$k", routingKey), ("$b", body), ("$p", relPath), ("$a", attempts), ("$n", notBefore), ("$e", lastError), ("$t", Now));
    }

    public static void Apply(SqliteConnection c, SqliteTransaction tx, CatalogChange? change)
    {
        if (change is null) return;
        if (change.Forget) Exec(c, "DELETE FROM posted WHERE rel_path=$p", tx, ("$p", change.RelPath));
        else Upsert(c, tx, change.RelPath, change.Size, change.MTimeTicks);
    }

    /// <summary>Takes up to <paramref name="max"/> of the oldest ready, due messages and marks them leased.</summary>
    public List<WorkItem> Lease(int max)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            UPDATE work SET state=1 WHERE id IN (SELECT id FROM work WHERE state=0 AND next_attempt <= $now ORDER BY next_attempt, id LIMIT $max)
            RETURNING id, routing_key, body, attempts
            """;
        cmd.Parameters.AddWithValue("$now", Now);
        cmd.Parameters.AddWithValue("$max", max);
        var items = new List<WorkItem>();
        using (var r = cmd.ExecuteReader())
            while (r.Read()) items.Add(new WorkItem(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)));
        items.Sort((a, b) => a.Id.CompareTo(b.Id));
        return items;
    }

    /// <summary>Done: the rows go away.</summary>
    public void Complete(IEnumerable<long> ids) => ForEachId(ids, "DELETE FROM work WHERE id=$i", null);

    /// <summary>Back to ready without counting an attempt (the destination was unreachable, not the files' fault).</summary>
    public void Release(IEnumerable<long> ids, long notBefore) => ForEachId(ids, "UPDATE work SET state=0, next_attempt=$n WHERE id=$i", notBefore);

    private void ForEachId(IEnumerable<long> ids, string sql, long? notBefore)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        var id = cmd.Parameters.Add("$i", SqliteType.Integer);
        if (notBefore is { } n) cmd.Parameters.AddWithValue("$n", n);
        foreach (var value in ids)
        {
            id.Value = value;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Counts a failed attempt: back to ready after the back-off, or dead after the last attempt. Returns the new state.</summary>
    public int Fail(long id, int attempts, string error, long notBefore, bool dead)
    {
        using var c = Open();
        Exec(c, "UPDATE work SET state=$s, attempts=$a, next_attempt=$n, last_error=$e WHERE id=$i", null,
            ("$i", id), ("$s", dead ? Dead : Ready), ("$a", attempts), ("$n", notBefore), ("$e", error));
        return dead ? Dead : Ready;
    }

    /// <summary>After a crash nobody holds a lease: every leased row becomes ready again.</summary>
    public int ReleaseAllLeases()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE work SET state=0 WHERE state=1";
        return cmd.ExecuteNonQuery();
    }

    public (long Ready, long Leased, long Retrying, long Dead) Counts()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(SUM(state=0),0), COALESCE(SUM(state=1),0), COALESCE(SUM(state=0 AND attempts>0),0), COALESCE(SUM(state=2),0) FROM work";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
    }

    public List<DeadLetterRow> DeadLetters()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, rel_path, attempts, COALESCE(last_error,''), enqueued, body FROM work WHERE state=2 ORDER BY id";
        var list = new List<DeadLetterRow>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(new DeadLetterRow(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4), r.GetString(5)));
        return list;
    }

    /// <summary>Puts a dead letter back in the queue with a fresh attempt count. False when the id is not a dead letter.</summary>
    public bool Requeue(long id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE work SET state=0, attempts=0, next_attempt=0, last_error=NULL WHERE id=$i AND state=2";
        cmd.Parameters.AddWithValue("$i", id);
        return cmd.ExecuteNonQuery() == 1;
    }
}

public sealed record WorkItem(long Id, string RoutingKey, string Body, int Attempts);
public sealed record DeadLetterRow(long Id, string RelPath, int Attempts, string LastError, long EnqueuedMs, string Body);

/// <summary>What posting a message does to the catalogue: record (path, size, mtime) or forget the path (delete).</summary>
public sealed record CatalogChange(string RelPath, long Size, long MTimeTicks, bool Forget = false);
