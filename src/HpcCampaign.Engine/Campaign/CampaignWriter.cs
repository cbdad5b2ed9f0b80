using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>
/// Inserts prepared items inside an open transaction with prepared statements that are reused for every row.
/// Host, directory and key rows are looked up by value and appended only when new (rowids stay dense).
/// </summary>
internal sealed class CampaignWriter : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly SqliteTransaction _tx;
    private readonly long _now;
    private readonly long _hostId;
    private readonly long _keyIndex;
    private readonly Dictionary<string, long> _dirIds = new(StringComparer.Ordinal);
    private readonly CampaignHost _host;
    private readonly SqliteCommand _dataset, _datasetRevive, _replica, _replicaUpdate, _resolution, _findFile, _updateFile, _insertFile, _link;

    public CampaignWriter(SqliteConnection db, SqliteTransaction tx, CampaignHost host, string? keyId, long now)
    {
        _db = db;
        _tx = tx;
        _now = now;
        _host = host;
        _hostId = EnsureHost(db, tx, host.ShortName, host.LongName, host.DefaultProtocol, now);
        _keyIndex = keyId is null ? 0 : EnsureKey(db, tx, keyId);
        // insert-or-nothing, then (rarely) an update: the common path needs no result set, the id comes from
        // sqlite3_last_insert_rowid. Same effect as the original's upserts.
        _dataset = Prepare("INSERT INTO dataset (name, uuid, modtime, deltime, fileformat, tsid, tsorder) VALUES ($name, $uuid, $mt, 0, $fmt, 0, 0) " +
                           "ON CONFLICT (name) DO NOTHING", "$name", "$uuid", "$mt", "$fmt");
        _datasetRevive = Prepare("UPDATE dataset SET deltime = 0 WHERE name = $name RETURNING rowid", "$name");
        _replica = Prepare("INSERT INTO replica (datasetid, hostid, dirid, archiveid, name, modtime, deltime, keyid, size) " +
                           "VALUES ($ds, $host, $dir, 0, $name, $mt, 0, $key, $size) " +
                           "ON CONFLICT (datasetid, hostid, dirid, archiveid, name) DO NOTHING", "$ds", "$host", "$dir", "$name", "$mt", "$key", "$size");
        _replicaUpdate = Prepare("UPDATE replica SET modtime = $mt, deltime = 0, keyid = $key, size = $size " +
                                 "WHERE datasetid = $ds AND hostid = $host AND dirid = $dir AND archiveid = 0 AND name = $name RETURNING rowid",
                                 "$mt", "$key", "$size", "$ds", "$host", "$dir", "$name");
        _resolution = Prepare("INSERT INTO resolution (replicaid, x, y) VALUES ($r, $x, $y) ON CONFLICT (replicaid) DO UPDATE SET x = excluded.x, y = excluded.y",
            "$r", "$x", "$y");
        _findFile = Prepare("SELECT f.fileid FROM file f JOIN repfiles rf ON rf.fileid = f.fileid WHERE rf.replicaid = $r AND f.name = $name", "$r", "$name");
        _updateFile = Prepare("UPDATE file SET compression = $c, lenorig = $lo, lencompressed = $lc, modtime = $mt, checksum = $sum, data = $data WHERE fileid = $id",
            "$c", "$lo", "$lc", "$mt", "$sum", "$data", "$id");
        _insertFile = Prepare("INSERT INTO file (name, compression, lenorig, lencompressed, modtime, checksum, data) VALUES ($name, $c, $lo, $lc, $mt, $sum, $data) RETURNING fileid",
            "$name", "$c", "$lo", "$lc", "$mt", "$sum", "$data");
        _link = Prepare("INSERT OR IGNORE INTO repfiles (replicaid, fileid) VALUES ($r, $f)", "$r", "$f");
    }

    public long HostId => _hostId;

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var cmd = _db.CreateCommand();
        cmd.Transaction = _tx;
        cmd.CommandText = sql;
        foreach (var n in names) cmd.Parameters.Add(new SqliteParameter { ParameterName = n });
        cmd.Prepare();
        return cmd;
    }

    private static object Scalar(SqliteCommand cmd, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        return cmd.ExecuteScalar()!;
    }

    private static void Exec(SqliteCommand cmd, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        cmd.ExecuteNonQuery();
    }

    internal static long EnsureHost(SqliteConnection db, SqliteTransaction tx, string name, string? longName, string protocol, long now)
    {
        using var find = db.CreateCommand();
        find.Transaction = tx;
        find.CommandText = "SELECT rowid FROM host WHERE hostname = $h";
        find.Parameters.AddWithValue("$h", name);
        if (find.ExecuteScalar() is long id) return id;
        using var insert = db.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO host (hostname, longhostname, modtime, deltime, default_protocol) VALUES ($h, $l, $t, 0, $p) RETURNING rowid";
        insert.Parameters.AddWithValue("$h", name);
        insert.Parameters.AddWithValue("$l", (object?)longName ?? DBNull.Value);
        insert.Parameters.AddWithValue("$t", now);
        insert.Parameters.AddWithValue("$p", protocol);
        return (long)insert.ExecuteScalar()!;
    }

    internal static long EnsureDirectory(SqliteConnection db, SqliteTransaction tx, long hostId, string name, long now)
    {
        using var find = db.CreateCommand();
        find.Transaction = tx;
        find.CommandText = "SELECT rowid FROM directory WHERE hostid = $h AND name = $n";
        find.Parameters.AddWithValue("$h", hostId);
        find.Parameters.AddWithValue("$n", name);
        if (find.ExecuteScalar() is long id) return id;
        using var insert = db.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO directory (hostid, name, modtime, deltime) VALUES ($h, $n, $t, 0) RETURNING rowid";
        insert.Parameters.AddWithValue("$h", hostId);
        insert.Parameters.AddWithValue("$n", name);
        insert.Parameters.AddWithValue("$t", now);
        return (long)insert.ExecuteScalar()!;
    }

    internal static long EnsureKey(SqliteConnection db, SqliteTransaction tx, string keyId)
    {
        using var find = db.CreateCommand();
        find.Transaction = tx;
        find.CommandText = "SELECT rowid FROM key WHERE keyid = $k";
        find.Parameters.AddWithValue("$k", keyId);
        if (find.ExecuteScalar() is long id) return id;
        using var insert = db.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO key (keyid) VALUES ($k) RETURNING rowid";
        insert.Parameters.AddWithValue("$k", keyId);
        return (long)insert.ExecuteScalar()!;
    }

    public long DirectoryId(string directory)
    {
        if (!_dirIds.TryGetValue(directory, out var id))
            _dirIds[directory] = id = EnsureDirectory(_db, _tx, _hostId, directory, _now);
        return id;
    }

    private long LastRowId() => SQLitePCL.raw.sqlite3_last_insert_rowid(_db.Handle);

    private static int Run(SqliteCommand cmd, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Writes one prepared item; returns the dataset rowid.</summary>
    public long Write(PreparedItem item)
    {
        var datasetId = Run(_dataset, item.DatasetName, item.Uuid, item.ModTime, item.Format) == 1
            ? LastRowId()
            : (long)Scalar(_datasetRevive, item.DatasetName);
        foreach (var r in item.Replicas)
        {
            var dirId = DirectoryId(r.Directory);
            var replicaId = Run(_replica, datasetId, _hostId, dirId, r.Name, r.ModTime, _keyIndex, r.Size) == 1
                ? LastRowId()
                : (long)Scalar(_replicaUpdate, r.ModTime, _keyIndex, r.Size, datasetId, _hostId, dirId, r.Name);
            if (r.Width is int w && r.Height is int h) Exec(_resolution, replicaId, w, h);
            foreach (var f in r.Files) WriteFile(replicaId, f);
        }
        return datasetId;
    }

    private void WriteFile(long replicaId, EncodedBlob f)
    {
        var existing = Scalar(_findFile, replicaId, f.Name);
        if (existing is long fileId)
        {
            Exec(_updateFile, f.Compressed ? 1 : 0, f.LenOrig, f.LenCompressed, f.ModTime, f.Checksum, f.Data, fileId);
            return;
        }
        fileId = (long)Scalar(_insertFile, f.Name, f.Compressed ? 1 : 0, f.LenOrig, f.LenCompressed, f.ModTime, f.Checksum, f.Data);
        Exec(_link, replicaId, fileId);
    }

    public void Dispose()
    {
        foreach (var c in new[] { _dataset, _datasetRevive, _replica, _replicaUpdate, _resolution, _findFile, _updateFile, _insertFile, _link }) c.Dispose();
    }
}
