using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>Format upgrades 0.5 → 0.6 → 0.7 (spec §1.5). Each step is one transaction, then VACUUM.</summary>
public static class CampaignUpgrader
{
    /// <summary>Upgrades one step, or every step to 0.7 with <paramref name="all"/>. Returns the steps made.</summary>
    public static List<CampaignUpgrade> Upgrade(string path, bool all, IHpcSink sink)
    {
        var steps = new List<CampaignUpgrade>();
        while (true)
        {
            string from;
            using (var db = CampaignDb.Connect(CheckExists(path), SqliteOpenMode.ReadOnly))
                from = CampaignDb.ReadVersion(db, null, path);
            if (CampaignDb.CompareVersion(from, CampaignSchema.CurrentVersion) >= 0)
            {
                if (steps.Count == 0) sink.Verbose($"'{path}' is already format {from}.");
                if (CampaignDb.CompareVersion(from, CampaignSchema.CurrentVersion) > 0)
                    throw new HpcException("ArchiveVersionTooNew", HpcErrorKind.InvalidData, $"'{path}' is format {from}, newer than {CampaignSchema.CurrentVersion}.", path);
                return steps;
            }
            var to = from switch
            {
                "0.5" => "0.6",
                "0.6" => "0.7",
                _ => throw new HpcException("ArchiveVersionUnsupported", HpcErrorKind.InvalidData,
                    $"'{path}' is format {from}; only 0.5 and 0.6 archives can be upgraded.", path),
            };
            CampaignDb.Write(path, false, (db, tx) =>
            {
                if (to == "0.6") To06(db, tx); else To07(db, tx);
                Exec(db, tx, "UPDATE info SET version = '" + to + "' WHERE id = 'ACA'");
                return 0;
            }, allowOlder: true);
            using (var db = CampaignDb.Connect(path, SqliteOpenMode.ReadWrite))
                Exec(db, null, "VACUUM");
            sink.Verbose($"'{path}': {from} -> {to}");
            var step = new CampaignUpgrade(path, from, to);
            steps.Add(step);
            sink.Output(step);
            if (!all) return steps;
        }
    }

    private static string CheckExists(string path) => File.Exists(path) ? path
        : throw new HpcException("ArchiveNotFound", HpcErrorKind.ObjectNotFound, $"Campaign archive '{path}' does not exist.", path);

    private static void Exec(SqliteConnection db, SqliteTransaction? tx, string sql) => CampaignSchema.Exec(db, tx, sql);

    private static void To06(SqliteConnection db, SqliteTransaction tx)
    {
        Exec(db, tx, "ALTER TABLE host ADD COLUMN default_protocol TEXT");
        Exec(db, tx, "UPDATE host SET default_protocol = ''");
        Exec(db, tx, "ALTER TABLE replica RENAME TO replica_old");
        Exec(db, tx, "CREATE TABLE replica(datasetid INT, hostid INT, dirid INT, archiveid INT, name TEXT, modtime INT, deltime INT, keyid INT, size INT, PRIMARY KEY (datasetid, hostid, dirid, archiveid, name))");
        Exec(db, tx, "INSERT INTO replica (rowid, datasetid, hostid, dirid, archiveid, name, modtime, deltime, keyid, size) " +
                     "SELECT rowid, datasetid, hostid, dirid, 0, name, modtime, deltime, keyid, size FROM replica_old ORDER BY rowid");
        Exec(db, tx, "DROP TABLE replica_old");
        Exec(db, tx, "ALTER TABLE archive RENAME TO archive_old");
        Exec(db, tx, "CREATE TABLE archive(dirid INT, tarname TEXT, system TEXT, notes BLOB, PRIMARY KEY (dirid, tarname))");
        Exec(db, tx, "INSERT INTO archive (rowid, dirid, tarname, system, notes) SELECT rowid, dirid, '', system, notes FROM archive_old ORDER BY rowid");
        Exec(db, tx, "DROP TABLE archive_old");
        Exec(db, tx, "CREATE TABLE archiveidx(archiveid INT, replicaid INT, filename TEXT, offset INT, offset_data INT, size INT, PRIMARY KEY (archiveid, replicaid, filename))");
    }

    private static void To07(SqliteConnection db, SqliteTransaction tx)
    {
        Exec(db, tx, "ALTER TABLE file RENAME TO file_old");
        Exec(db, tx, "CREATE TABLE file(fileid INTEGER PRIMARY KEY, name TEXT, compression INT, lenorig INT, lencompressed INT, modtime INT, checksum TEXT, data BLOB)");
        Exec(db, tx, "CREATE TABLE repfiles(replicaid INT, fileid INT, PRIMARY KEY (replicaid, fileid))");
        // identical content of one dataset (same name, lengths, checksum) becomes one file row linked to several replicas
        var seen = new Dictionary<(long, string, long, long, string), long>();
        var rows = new List<(long Rowid, long Replica, long Dataset, string Name, long LenOrig, long LenComp, string Sum)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT f.rowid, f.replicaid, ifnull(r.datasetid, -f.replicaid), f.name, f.lenorig, f.lencompressed, ifnull(f.checksum, '') " +
                              "FROM file_old f LEFT JOIN replica r ON r.rowid = f.replicaid ORDER BY f.rowid";
            using var rd = cmd.ExecuteReader();
            while (rd.Read())
                rows.Add((rd.GetInt64(0), rd.GetInt64(1), rd.GetInt64(2), rd.GetString(3), rd.GetInt64(4), rd.GetInt64(5), rd.GetString(6)));
        }
        using var copy = db.CreateCommand();
        copy.Transaction = tx;
        copy.CommandText = "INSERT INTO file (fileid, name, compression, lenorig, lencompressed, modtime, checksum, data) " +
                           "SELECT rowid, name, compression, lenorig, lencompressed, modtime, checksum, data FROM file_old WHERE rowid = $r";
        var pr = copy.Parameters.Add(new SqliteParameter("$r", 0L));
        using var link = db.CreateCommand();
        link.Transaction = tx;
        link.CommandText = "INSERT OR IGNORE INTO repfiles (replicaid, fileid) VALUES ($rep, $f)";
        var prep = link.Parameters.Add(new SqliteParameter("$rep", 0L));
        var pf = link.Parameters.Add(new SqliteParameter("$f", 0L));
        foreach (var row in rows)
        {
            var key = (row.Dataset, row.Name, row.LenOrig, row.LenComp, row.Sum);
            if (!seen.TryGetValue(key, out var fileId))
            {
                pr.Value = row.Rowid;
                copy.ExecuteNonQuery();
                seen[key] = fileId = row.Rowid;
            }
            prep.Value = row.Replica;
            pf.Value = fileId;
            link.ExecuteNonQuery();
        }
        Exec(db, tx, "DROP TABLE file_old");
        foreach (var sql in new[] { CampaignSchema.VisSequence, CampaignSchema.VisVariable, CampaignSchema.VisItem, CampaignSchema.ScalarField })
            Exec(db, tx, sql.Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS "));
    }
}
