using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>The .aca table definitions (spec §1.1, §1.5). Statements match the original tool's text.</summary>
public static class CampaignSchema
{
    public const string CurrentVersion = "0.7";
    public const string ArchiveName = "ADIOS Campaign Archive";

    internal static readonly string[] Tables07 =
    {
        "CREATE TABLE info(id TEXT, name TEXT, version TEXT, modtime INT)",
        "CREATE TABLE key(keyid TEXT PRIMARY KEY)",
        "CREATE TABLE host(hostname TEXT PRIMARY KEY, longhostname TEXT, modtime INT, deltime INT, default_protocol TEXT)",
        "CREATE TABLE directory(hostid INT, name TEXT, modtime INT, deltime INT, PRIMARY KEY (hostid, name))",
        "CREATE TABLE timeseries(tsid INTEGER PRIMARY KEY, name TEXT UNIQUE)",
        "CREATE TABLE dataset(name TEXT, uuid TEXT, modtime INT, deltime INT, fileformat TEXT, tsid INT, tsorder INT, PRIMARY KEY (name))",
        "CREATE TABLE replica(datasetid INT, hostid INT, dirid INT, archiveid INT, name TEXT, modtime INT, deltime INT, keyid INT, size INT, PRIMARY KEY (datasetid, hostid, dirid, archiveid, name))",
        "CREATE TABLE file(fileid INTEGER PRIMARY KEY, name TEXT, compression INT, lenorig INT, lencompressed INT, modtime INT, checksum TEXT, data BLOB)",
        "CREATE TABLE repfiles(replicaid INT, fileid INT, PRIMARY KEY (replicaid, fileid))",
        "CREATE TABLE accuracy(replicaid INT, accuracy REAL, norm REAL, relative INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE resolution(replicaid INT, x INT, y INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE archive(dirid INT, tarname TEXT,system TEXT, notes BLOB, PRIMARY KEY (dirid, tarname))",
        VisSequence, VisVariable, VisItem, ScalarField,
        "CREATE TABLE archiveidx(archiveid INT, replicaid INT, filename TEXT, offset INT, offset_data INT, size INT, PRIMARY KEY (archiveid, replicaid, filename))",
    };

    internal const string VisSequence = "CREATE TABLE visualization_sequence(visid INTEGER PRIMARY KEY, name TEXT UNIQUE, vistype TEXT, thumbnail_itemuuid TEXT, metadata TEXT)";
    internal const string VisVariable = "CREATE TABLE visualization_variable (visid INT, datasetid INT, variable_name TEXT, role TEXT, PRIMARY KEY (visid, datasetid, variable_name, role))";
    internal const string VisItem = "CREATE TABLE visualization_item (visid INT, item_order INT, item_type TEXT, item_uuid TEXT, metadata TEXT, PRIMARY KEY (visid, item_order))";
    internal const string ScalarField = "CREATE TABLE scalar_field(datasetid INT PRIMARY KEY, metadata TEXT)";

    /// <summary>Format 0.5 (spec §1.5): host without default_protocol, replica without archiveid, file per replica.</summary>
    internal static readonly string[] Tables05 =
    {
        "CREATE TABLE info(id TEXT, name TEXT, version TEXT, modtime INT)",
        "CREATE TABLE key(keyid TEXT PRIMARY KEY)",
        "CREATE TABLE host(hostname TEXT PRIMARY KEY, longhostname TEXT, modtime INT, deltime INT)",
        "CREATE TABLE directory(hostid INT, name TEXT, modtime INT, deltime INT, PRIMARY KEY (hostid, name))",
        "CREATE TABLE timeseries(tsid INTEGER PRIMARY KEY, name TEXT UNIQUE)",
        "CREATE TABLE dataset(name TEXT, uuid TEXT, modtime INT, deltime INT, fileformat TEXT, tsid INT, tsorder INT, PRIMARY KEY (name))",
        "CREATE TABLE replica(datasetid INT, hostid INT, dirid INT, name TEXT, modtime INT, deltime INT, keyid INT, size INT, PRIMARY KEY (datasetid, hostid, dirid, name))",
        "CREATE TABLE file(replicaid INT, name TEXT, compression INT, lenorig INT, lencompressed INT, modtime INT, checksum TEXT, data BLOB, PRIMARY KEY (replicaid, name))",
        "CREATE TABLE accuracy(replicaid INT, accuracy REAL, norm REAL, relative INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE resolution(replicaid INT, x INT, y INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE archive(dirid INT PRIMARY KEY, system TEXT, notes BLOB)",
    };

    /// <summary>Format 0.6: 0.5 plus default_protocol, archiveid in replica, TAR-style archive + archiveidx.</summary>
    internal static readonly string[] Tables06 =
    {
        "CREATE TABLE info(id TEXT, name TEXT, version TEXT, modtime INT)",
        "CREATE TABLE key(keyid TEXT PRIMARY KEY)",
        "CREATE TABLE host(hostname TEXT PRIMARY KEY, longhostname TEXT, modtime INT, deltime INT, default_protocol TEXT)",
        "CREATE TABLE directory(hostid INT, name TEXT, modtime INT, deltime INT, PRIMARY KEY (hostid, name))",
        "CREATE TABLE timeseries(tsid INTEGER PRIMARY KEY, name TEXT UNIQUE)",
        "CREATE TABLE dataset(name TEXT, uuid TEXT, modtime INT, deltime INT, fileformat TEXT, tsid INT, tsorder INT, PRIMARY KEY (name))",
        "CREATE TABLE replica(datasetid INT, hostid INT, dirid INT, archiveid INT, name TEXT, modtime INT, deltime INT, keyid INT, size INT, PRIMARY KEY (datasetid, hostid, dirid, archiveid, name))",
        "CREATE TABLE file(replicaid INT, name TEXT, compression INT, lenorig INT, lencompressed INT, modtime INT, checksum TEXT, data BLOB, PRIMARY KEY (replicaid, name))",
        "CREATE TABLE accuracy(replicaid INT, accuracy REAL, norm REAL, relative INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE resolution(replicaid INT, x INT, y INT, PRIMARY KEY (replicaid))",
        "CREATE TABLE archive(dirid INT, tarname TEXT, system TEXT, notes BLOB, PRIMARY KEY (dirid, tarname))",
        "CREATE TABLE archiveidx(archiveid INT, replicaid INT, filename TEXT, offset INT, offset_data INT, size INT, PRIMARY KEY (archiveid, replicaid, filename))",
    };

    /// <summary>Creates the tables of <paramref name="version"/> (0.5, 0.6 or 0.7) and the info row, inside the caller's transaction.</summary>
    public static void Create(SqliteConnection db, SqliteTransaction tx, string version, long createdNs)
    {
        var tables = version switch
        {
            "0.7" => Tables07,
            "0.6" => Tables06,
            "0.5" => Tables05,
            _ => throw new HpcException("UnsupportedArchiveVersion", HpcErrorKind.InvalidArgument, $"Cannot create format {version}.", version),
        };
        Exec(db, tx, tables[0]);
        using (var cmd = db.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO info VALUES ('ACA', $name, $v, $t)";
            cmd.Parameters.AddWithValue("$name", ArchiveName);
            cmd.Parameters.AddWithValue("$v", version);
            cmd.Parameters.AddWithValue("$t", createdNs);
            cmd.ExecuteNonQuery();
        }
        foreach (var sql in tables.Skip(1)) Exec(db, tx, sql);
    }

    internal static void Exec(SqliteConnection db, SqliteTransaction? tx, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    internal static bool TableExists(SqliteConnection db, SqliteTransaction? tx, string name)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=$n";
        cmd.Parameters.AddWithValue("$n", name);
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }
}
