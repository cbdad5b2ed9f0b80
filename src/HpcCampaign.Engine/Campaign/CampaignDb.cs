using System.Globalization;
using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>
/// Opening .aca files. Every change runs in ONE transaction: on any error it is rolled back (the rollback journal
/// restores the file byte for byte) and a file created by the call is removed again. No PRAGMA is ever set.
/// </summary>
public static class CampaignDb
{
    public static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static long ToNs(DateTime utc) => (utc.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Interprets a modtime/deltime value the way the original's readers do (unit guessed from digit count).</summary>
    public static DateTimeOffset? FromArchiveTime(long value)
    {
        if (value <= 0) return null;
        long ticks;
        if (value > 99999999999999999L) ticks = value / 100;
        else if (value > 99999999999999L) ticks = value * 10;
        else if (value > 99999999999L) ticks = value * 10_000;
        else ticks = value * 10_000_000;
        try { return new DateTimeOffset(DateTime.UnixEpoch.Ticks + ticks, TimeSpan.Zero); }
        catch (ArgumentOutOfRangeException) { return null; }
    }

    /// <summary>Appends .aca when the name has no extension of that name (like the original).</summary>
    public static string WithExtension(string path) =>
        path.EndsWith(".aca", StringComparison.Ordinal) ? path : path + ".aca";

    internal static SqliteConnection Connect(string path, SqliteOpenMode mode)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString();
        var db = new SqliteConnection(cs);
        db.Open();
        return db;
    }

    /// <summary>Opens an existing archive read-only after checking it is a 0.7 archive.</summary>
    public static SqliteConnection OpenRead(string path, bool allowOlder = false)
    {
        if (!File.Exists(path))
            throw new HpcException("ArchiveNotFound", HpcErrorKind.ObjectNotFound, $"Campaign archive '{path}' does not exist.", path);
        var db = Connect(path, SqliteOpenMode.ReadOnly);
        try
        {
            CheckVersion(db, null, path, allowOlder);
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Reads info.version; throws NotACampaignArchive when the file is not an archive.</summary>
    public static string ReadVersion(SqliteConnection db, SqliteTransaction? tx, string path)
    {
        try
        {
            if (!CampaignSchema.TableExists(db, tx, "info")) throw NotArchive(path, "it has no info table");
            using var cmd = db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT version FROM info WHERE id = 'ACA'";
            return cmd.ExecuteScalar() as string ?? throw NotArchive(path, "its info table has no ACA row");
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 26 or 11)
        {
            throw NotArchive(path, "it is not an SQLite database", ex);
        }
    }

    internal static void CheckVersion(SqliteConnection db, SqliteTransaction? tx, string path, bool allowOlder)
    {
        var version = ReadVersion(db, tx, path);
        var cmp = CompareVersion(version, CampaignSchema.CurrentVersion);
        if (cmp > 0)
            throw new HpcException("ArchiveVersionTooNew", HpcErrorKind.InvalidData,
                $"'{path}' is format {version}; this module reads and writes format {CampaignSchema.CurrentVersion}.", path)
            { RecommendedAction = "Use a newer HpcCampaign module." };
        if (cmp < 0 && !allowOlder)
            throw new HpcException("ArchiveVersionTooOld", HpcErrorKind.InvalidData,
                $"'{path}' is format {version}; it must be upgraded to {CampaignSchema.CurrentVersion} first.", path)
            { RecommendedAction = $"Run: Update-Campaign -Path '{path}'" };
    }

    internal static int CompareVersion(string a, string b)
    {
        static (int, int) Parse(string v)
        {
            var parts = v.Split('.');
            int major = parts.Length > 0 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : 0;
            int minor = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
            return (major, minor);
        }
        return Parse(a).CompareTo(Parse(b));
    }

    private static HpcException NotArchive(string path, string why, Exception? inner = null) =>
        new("NotACampaignArchive", HpcErrorKind.InvalidData, $"'{path}' is not a campaign archive: {why}.", path, inner);

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction. A missing file is created (schema 0.7) when
    /// <paramref name="create"/>; it is deleted again if the work fails.
    /// </summary>
    public static T Write<T>(string path, bool create, Func<SqliteConnection, SqliteTransaction, T> work,
        bool allowOlder = false, string? createVersion = null)
    {
        var exists = File.Exists(path);
        if (!exists && !create)
            throw new HpcException("ArchiveNotFound", HpcErrorKind.ObjectNotFound, $"Campaign archive '{path}' does not exist.", path)
            { RecommendedAction = "Create it with New-Campaign." };
        if (!exists)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null && !Directory.Exists(dir))
                throw new HpcException("DirectoryNotFound", HpcErrorKind.ObjectNotFound, $"The folder '{dir}' of archive '{path}' does not exist.", path);
        }
        var created = false;
        try
        {
            T result;
            using (var db = Connect(path, exists ? SqliteOpenMode.ReadWrite : SqliteOpenMode.ReadWriteCreate))
            {
                created = !exists;
                using var tx = db.BeginTransaction();
                try
                {
                    if (created) CampaignSchema.Create(db, tx, createVersion ?? CampaignSchema.CurrentVersion, NowNs());
                    else CheckVersion(db, tx, path, allowOlder);
                    result = work(db, tx);
                    tx.Commit();
                }
                catch
                {
                    try { tx.Rollback(); } catch (SqliteException) { }
                    throw;
                }
            }
            return result;
        }
        catch (SqliteException ex)
        {
            RemoveCreated(path, created);
            if (ex.SqliteErrorCode is 26 or 11) throw NotArchive(path, "it is not an SQLite database", ex);
            if (ex.SqliteErrorCode is 5 or 6)
                throw new HpcException("ArchiveBusy", HpcErrorKind.ResourceUnavailable, $"'{path}' is locked by another process.", path, ex);
            throw new HpcException("ArchiveWriteFailed", HpcErrorKind.InvalidOperation, $"Writing '{path}' failed: {ex.Message}", path, ex);
        }
        catch
        {
            RemoveCreated(path, created);
            throw;
        }
    }

    /// <summary>Creates an empty archive of <paramref name="version"/> (0.7 normally; 0.5/0.6 for upgrade tests) atomically.</summary>
    public static void CreateNew(string path, bool overwrite, string version = CampaignSchema.CurrentVersion)
    {
        if (File.Exists(path) && !overwrite)
            throw new HpcException("ArchiveExists", HpcErrorKind.ResourceExists, $"'{path}' already exists; use -Force to replace it.", path);
        if (Directory.Exists(path))
            throw new HpcException("ArchivePathIsDirectory", HpcErrorKind.InvalidArgument, $"'{path}' is a directory.", path);
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            Write(temp, true, (_, _) => 0, createVersion: version);
            File.Move(temp, path, overwrite);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static void RemoveCreated(string path, bool created)
    {
        if (!created) return;
        try
        {
            File.Delete(path);
            File.Delete(path + "-journal");
        }
        catch (IOException) { }
    }
}
