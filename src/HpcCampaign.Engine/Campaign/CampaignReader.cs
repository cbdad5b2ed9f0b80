using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

public sealed class CampaignDatasetFilter
{
    /// <summary>Wildcard patterns (* ? [..]) on the dataset name; empty = all.</summary>
    public IReadOnlyList<string> Names { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Formats { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Uuids { get; init; } = Array.Empty<string>();
    public bool IncludeDeleted { get; init; }
}

/// <summary>Reads archives (ours and the original tool's) into the public objects. Never needs a key.</summary>
public static class CampaignReader
{
    public static Regex WildcardToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".").Replace(@"\[", "[") + "$",
            RegexOptions.CultureInvariant | RegexOptions.Singleline);

    public static CampaignInfo Summary(string path)
    {
        using var db = CampaignDb.OpenRead(path, allowOlder: true);
        var version = CampaignDb.ReadVersion(db, null, path);
        string name = "";
        long created = 0;
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT name, modtime FROM info WHERE id = 'ACA'";
            using var r = cmd.ExecuteReader();
            if (r.Read()) { name = r.IsDBNull(0) ? "" : r.GetString(0); created = r.IsDBNull(1) ? 0 : r.GetInt64(1); }
        }
        var hosts = Strings(db, "SELECT hostname || ' (' || ifnull(longhostname, '') || ')' FROM host ORDER BY rowid");
        var dirs = Strings(db, "SELECT h.hostname || ':' || d.name FROM directory d JOIN host h ON h.rowid = d.hostid ORDER BY d.rowid");
        var keys = Strings(db, "SELECT keyid FROM key ORDER BY rowid");
        var ts = Strings(db, "SELECT name FROM timeseries ORDER BY tsid");
        var tarColumn = DbHasColumn(db, "archive", "tarname") ? "a.tarname" : "''";
        var archives = Strings(db, $"SELECT a.system || ' ' || h.hostname || ':' || d.name || CASE WHEN {tarColumn} = '' THEN '' ELSE '/' || {tarColumn} END " +
                                   "FROM archive a JOIN directory d ON d.rowid = a.dirid JOIN host h ON h.rowid = d.hostid ORDER BY a.rowid");
        int Count(string sql) { using var c = db.CreateCommand(); c.CommandText = sql; return Convert.ToInt32(c.ExecuteScalar()); }
        return new CampaignInfo(path, name, version, CampaignDb.FromArchiveTime(created) ?? DateTimeOffset.UnixEpoch,
            new FileInfo(path).Length, hosts, dirs, keys,
            Count("SELECT count(*) FROM dataset WHERE deltime = 0"), Count("SELECT count(*) FROM dataset WHERE deltime != 0"),
            Count("SELECT count(*) FROM replica WHERE deltime = 0"), Count("SELECT count(*) FROM file"), ts, archives);
    }

    private static bool DbHasColumn(SqliteConnection db, string table, string column)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = $c";
        cmd.Parameters.AddWithValue("$c", column);
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }

    private static List<string> Strings(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.IsDBNull(0) ? "" : r.GetString(0));
        return list;
    }

    /// <summary>Lists the .aca files below a campaign store (like `hpc_campaign ls -w`), optionally filtered by a wildcard on the relative path.</summary>
    public static IEnumerable<string> ListStore(string store, string? pattern)
    {
        if (!Directory.Exists(store))
            throw new HpcException("CampaignStoreNotFound", HpcErrorKind.ObjectNotFound, $"Campaign store '{store}' does not exist.", store);
        var regex = pattern is null ? null : WildcardToRegex(pattern);
        return Directory.EnumerateFiles(store, "*.aca", SearchOption.AllDirectories)
            .Where(f => regex is null || regex.IsMatch(Path.GetRelativePath(store, f).Replace('\\', '/')) || regex.IsMatch(Path.GetFileName(f)))
            .OrderBy(f => f, StringComparer.Ordinal);
    }

    private sealed record Dir(long HostId, string Name);
    private sealed record Archive(long DirId, string TarName, string System);

    public static List<CampaignDataset> Datasets(string path, CampaignDatasetFilter filter)
    {
        using var db = CampaignDb.OpenRead(path);
        var hosts = new Dictionary<long, (string, string?)>();
        var dirs = new Dictionary<long, Dir>();
        var archives = new Dictionary<long, Archive>();
        var keys = new Dictionary<long, string>();
        var series = new Dictionary<long, string>();
        Each(db, "SELECT rowid, hostname, longhostname FROM host", r => hosts[r.GetInt64(0)] = (r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2)));
        Each(db, "SELECT rowid, hostid, name FROM directory", r => dirs[r.GetInt64(0)] = new Dir(r.GetInt64(1), r.GetString(2)));
        Each(db, "SELECT rowid, dirid, tarname, system FROM archive", r => archives[r.GetInt64(0)] = new Archive(r.GetInt64(1), r.IsDBNull(2) ? "" : r.GetString(2), r.IsDBNull(3) ? "" : r.GetString(3)));
        Each(db, "SELECT rowid, keyid FROM key", r => keys[r.GetInt64(0)] = r.GetString(1));
        Each(db, "SELECT tsid, name FROM timeseries", r => series[r.GetInt64(0)] = r.GetString(1));

        var nameRegexes = filter.Names.Select(WildcardToRegex).ToList();
        var formats = new HashSet<string>(filter.Formats, StringComparer.OrdinalIgnoreCase);
        var uuids = new HashSet<string>(filter.Uuids.Select(u => u.Replace("-", "")), StringComparer.OrdinalIgnoreCase);
        var rows = new List<(long Id, string Name, string Uuid, long Mod, long Del, string Format, long Ts, long TsOrder)>();
        Each(db, "SELECT rowid, name, uuid, modtime, deltime, fileformat, tsid, tsorder FROM dataset ORDER BY rowid", r =>
        {
            var row = (r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? "" : r.GetString(2), r.IsDBNull(3) ? 0 : r.GetInt64(3),
                r.IsDBNull(4) ? 0 : r.GetInt64(4), r.IsDBNull(5) ? "" : r.GetString(5), r.IsDBNull(6) ? 0 : r.GetInt64(6), r.IsDBNull(7) ? 0 : r.GetInt64(7));
            if (!filter.IncludeDeleted && row.Item5 != 0) return;
            if (nameRegexes.Count > 0 && !nameRegexes.Any(x => x.IsMatch(row.Item2))) return;
            if (formats.Count > 0 && !formats.Contains(row.Item6)) return;
            if (uuids.Count > 0 && !uuids.Contains(row.Item3)) return;
            rows.Add(row);
        });
        var wanted = rows.Select(r => r.Id).ToHashSet();

        var files = new Dictionary<long, List<(long FileId, string Name, bool Comp, long LenOrig, long LenComp, long Stored, long Mod, string Sum)>>();
        Each(db, "SELECT rf.replicaid, f.fileid, f.name, f.compression, f.lenorig, f.lencompressed, length(f.data), f.modtime, f.checksum " +
                 "FROM repfiles rf JOIN file f ON f.fileid = rf.fileid ORDER BY rf.replicaid, f.fileid", r =>
        {
            var rid = r.GetInt64(0);
            if (!files.TryGetValue(rid, out var list)) files[rid] = list = new();
            list.Add((r.GetInt64(1), r.GetString(2), !r.IsDBNull(3) && r.GetInt64(3) != 0, r.IsDBNull(4) ? 0 : r.GetInt64(4),
                r.IsDBNull(5) ? 0 : r.GetInt64(5), r.IsDBNull(6) ? 0 : r.GetInt64(6), r.IsDBNull(7) ? 0 : r.GetInt64(7), r.IsDBNull(8) ? "" : r.GetString(8)));
        });

        var replicas = new Dictionary<long, List<(long Id, long Host, long Dir, long Arch, string Name, long Mod, long Del, long Key, long Size, int? X, int? Y)>>();
        Each(db, "SELECT r.rowid, r.datasetid, r.hostid, r.dirid, r.archiveid, r.name, r.modtime, r.deltime, r.keyid, r.size, res.x, res.y " +
                 "FROM replica r LEFT JOIN resolution res ON res.replicaid = r.rowid ORDER BY r.rowid", r =>
        {
            var ds = r.GetInt64(1);
            if (!wanted.Contains(ds)) return;
            var del = r.IsDBNull(7) ? 0 : r.GetInt64(7);
            if (!filter.IncludeDeleted && del != 0) return;
            if (!replicas.TryGetValue(ds, out var list)) replicas[ds] = list = new();
            list.Add((r.GetInt64(0), r.GetInt64(2), r.GetInt64(3), r.IsDBNull(4) ? 0 : r.GetInt64(4), r.GetString(5),
                r.IsDBNull(6) ? 0 : r.GetInt64(6), del, r.IsDBNull(8) ? 0 : r.GetInt64(8), r.IsDBNull(9) ? 0 : r.GetInt64(9),
                r.IsDBNull(10) ? null : r.GetInt32(10), r.IsDBNull(11) ? null : r.GetInt32(11)));
        });

        var result = new List<CampaignDataset>(rows.Count);
        foreach (var d in rows)
        {
            var reps = new List<CampaignReplica>();
            foreach (var r in replicas.GetValueOrDefault(d.Id) ?? new())
            {
                var (hostName, longName) = hosts.GetValueOrDefault(r.Host, ("", null));
                var dir = dirs.GetValueOrDefault(r.Dir) ?? new Dir(0, "");
                var arch = r.Arch != 0 ? archives.GetValueOrDefault(r.Arch) : null;
                var keyId = r.Key != 0 ? keys.GetValueOrDefault(r.Key, r.Key.ToString()) : null;
                var fileObjs = (files.GetValueOrDefault(r.Id) ?? new()).Select(f => new CampaignFile(path, f.FileId, r.Id, d.Name, f.Name, f.Comp,
                    f.LenOrig, f.LenComp, f.Stored, CampaignDb.FromArchiveTime(f.Mod), f.Sum, keyId)).ToList();
                reps.Add(new CampaignReplica(path, r.Id, d.Name, d.Uuid, hostName, longName, r.Dir, dir.Name, r.Arch, arch?.System,
                    arch?.TarName, r.Name, CampaignDb.FromArchiveTime(r.Mod), CampaignDb.FromArchiveTime(r.Del), keyId, r.Size, r.X, r.Y, fileObjs));
            }
            result.Add(new CampaignDataset(path, d.Id, d.Name, d.Uuid, d.Format, CampaignDb.FromArchiveTime(d.Mod), d.Mod,
                CampaignDb.FromArchiveTime(d.Del), d.Ts != 0 ? series.GetValueOrDefault(d.Ts) : null, d.TsOrder, reps));
        }
        return result;
    }

    private static void Each(SqliteConnection db, string sql, Action<SqliteDataReader> row)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        while (r.Read()) row(r);
    }
}
