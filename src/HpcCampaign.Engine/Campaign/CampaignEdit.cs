using System.Globalization;
using System.Text;
using HpcCampaign.Engine.Common;
using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>Changes to existing archives: soft delete, archival storage, archived replicas, time series. One transaction each.</summary>
public static class CampaignEdit
{
    private static SqliteCommand Cmd(SqliteConnection db, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    private static int Exec(SqliteConnection db, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Cmd(db, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection db, SqliteTransaction tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Cmd(db, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    /// <summary>
    /// Soft delete (spec §2.1 delete): by name/uuid the dataset and its live replicas get deltime = now (files stay);
    /// by replica id the replica is deleted, its file links and now-unreferenced files removed, and the dataset
    /// deleted when no live replica is left. Unknown items fail the whole call.
    /// </summary>
    public static int Remove(string path, IReadOnlyList<string> names, IReadOnlyList<string> uuids, IReadOnlyList<long> replicaIds)
    {
        var now = CampaignDb.NowNs();
        return CampaignDb.Write(path, false, (db, tx) =>
        {
            var count = 0;
            var datasetIds = new List<long>();
            foreach (var n in names)
                datasetIds.Add(Scalar(db, tx, "SELECT rowid FROM dataset WHERE name = $n", ("$n", n)) as long?
                    ?? throw new HpcException("DatasetNotFound", HpcErrorKind.ObjectNotFound, $"No dataset named '{n}' in '{path}'.", n));
            foreach (var u in uuids)
                datasetIds.Add(Scalar(db, tx, "SELECT rowid FROM dataset WHERE uuid = $u", ("$u", u.Replace("-", "").ToLowerInvariant())) as long?
                    ?? throw new HpcException("DatasetNotFound", HpcErrorKind.ObjectNotFound, $"No dataset with uuid '{u}' in '{path}'.", u));
            foreach (var id in datasetIds.Distinct())
            {
                Exec(db, tx, "UPDATE dataset SET deltime = $t WHERE rowid = $id AND deltime = 0", ("$t", now), ("$id", id));
                Exec(db, tx, "UPDATE replica SET deltime = $t WHERE datasetid = $id AND deltime = 0", ("$t", now), ("$id", id));
                count++;
            }
            foreach (var rid in replicaIds.Distinct())
            {
                var ds = Scalar(db, tx, "SELECT datasetid FROM replica WHERE rowid = $r", ("$r", rid)) as long?
                    ?? throw new HpcException("ReplicaNotFound", HpcErrorKind.ObjectNotFound, $"No replica with id {rid} in '{path}'.", rid);
                Exec(db, tx, "UPDATE replica SET deltime = $t WHERE rowid = $r AND deltime = 0", ("$t", now), ("$r", rid));
                var fileIds = new List<long>();
                using (var c = Cmd(db, tx, "SELECT fileid FROM repfiles WHERE replicaid = $r", ("$r", rid)))
                using (var rd = c.ExecuteReader()) while (rd.Read()) fileIds.Add(rd.GetInt64(0));
                Exec(db, tx, "DELETE FROM repfiles WHERE replicaid = $r", ("$r", rid));
                foreach (var f in fileIds)
                    Exec(db, tx, "DELETE FROM file WHERE fileid = $f AND NOT EXISTS (SELECT 1 FROM repfiles WHERE fileid = $f)", ("$f", f));
                var live = Convert.ToInt64(Scalar(db, tx, "SELECT count(*) FROM replica WHERE datasetid = $d AND deltime = 0", ("$d", ds)));
                if (live == 0) Exec(db, tx, "UPDATE dataset SET deltime = $t WHERE rowid = $d AND deltime = 0", ("$t", now), ("$d", ds));
                count++;
            }
            return count;
        });
    }

    /// <summary>The name of an embedded file (FileNotFound when there is none with that id).</summary>
    public static string FileName(string path, long fileId)
    {
        using var db = CampaignDb.OpenRead(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name FROM file WHERE fileid = $id";
        cmd.Parameters.AddWithValue("$id", fileId);
        var name = cmd.ExecuteScalar() as string
            ?? throw new HpcException("FileNotFound", HpcErrorKind.ObjectNotFound, $"No embedded file with id {fileId} in '{path}'.", fileId);
        return name;
    }

    /// <summary>Decrypts (if sealed), inflates and verifies one embedded file, then writes it atomically.</summary>
    public static CampaignExportedFile Export(string path, long fileId, string destination, byte[]? key, string? keyIdOfKey, bool overwrite)
    {
        using var db = CampaignDb.OpenRead(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT f.name, f.compression, f.lenorig, f.lencompressed, f.checksum, f.data, " +
                          "(SELECT k.keyid FROM repfiles rf JOIN replica r ON r.rowid = rf.replicaid JOIN key k ON k.rowid = r.keyid WHERE rf.fileid = f.fileid AND r.keyid > 0 LIMIT 1) " +
                          "FROM file f WHERE f.fileid = $id";
        cmd.Parameters.AddWithValue("$id", fileId);
        using var r = cmd.ExecuteReader();
        if (!r.Read())
            throw new HpcException("FileNotFound", HpcErrorKind.ObjectNotFound, $"No embedded file with id {fileId} in '{path}'.", fileId);
        var name = r.GetString(0);
        var keyId = r.IsDBNull(6) ? null : r.GetString(6);
        var target = $"{path}#{fileId} ({name})";
        if (keyId is not null && key is not null && keyIdOfKey is not null && !string.Equals(keyId, keyIdOfKey, StringComparison.OrdinalIgnoreCase))
            throw new HpcException("WrongKey", HpcErrorKind.AuthenticationError,
                $"'{name}' is sealed with key {keyId}; the key given is {keyIdOfKey}.", target);
        var plain = BlobCodec.Decode((byte[])r.GetValue(5), r.GetInt64(1) != 0, r.GetInt64(2), r.GetInt64(3), r.GetString(4),
            keyId is not null, key, target);
        if (File.Exists(destination) && !overwrite)
            throw new HpcException("DestinationExists", HpcErrorKind.ResourceExists, $"'{destination}' exists; use -Force to replace it.", destination);
        AtomicFile.Write(destination, s => s.Write(plain), overwrite);
        return new CampaignExportedFile(destination, path, fileId, name, plain.Length, r.GetString(4).ToLowerInvariant());
    }

    /// <summary>
    /// add-archival-storage (spec §2.1): host (inserted only if new, protocol from the system), directory, archive row
    /// unless (dirid, tarname) exists; with a TAR index the matching live replicas get archived copies + archiveidx rows.
    /// </summary>
    public static CampaignArchiveStorage AddArchive(string path, string system, string hostName, string directory, string? tarName,
        string? tarIndexPath, string? longHostName, byte[]? notes)
    {
        var now = CampaignDb.NowNs();
        var entries = tarIndexPath is null ? null : TarIndex.Read(tarIndexPath);
        return CampaignDb.Write(path, false, (db, tx) =>
        {
            var lower = system.ToLowerInvariant();
            var protocol = lower is "https" or "http" or "ftp" or "s3" ? lower : "";
            var hostId = CampaignWriter.EnsureHost(db, tx, hostName, longHostName, protocol, now);
            var dirId = CampaignWriter.EnsureDirectory(db, tx, hostId, directory, now);
            var tar = tarName ?? "";
            var archiveId = Scalar(db, tx, "SELECT rowid FROM archive WHERE dirid = $d AND tarname = $t", ("$d", dirId), ("$t", tar)) as long?
                ?? (long)Scalar(db, tx, "INSERT INTO archive (dirid, tarname, system, notes) VALUES ($d, $t, $s, $n) RETURNING rowid",
                    ("$d", dirId), ("$t", tar), ("$s", system), ("$n", notes))!;
            var imported = 0;
            if (entries is not null)
            {
                for (int i = 0; i < entries.Count; i++)
                {
                    var e = entries[i];
                    if (e.Type == 0)
                    {
                        var rep = FindLiveReplica(db, tx, e.Name, e.Size, adiosOnly: false);
                        if (rep is null) continue;
                        var newId = CopyReplica(db, tx, rep.Value, hostId, dirId, archiveId, rep.Value.Name, move: false);
                        Exec(db, tx, "INSERT OR REPLACE INTO archiveidx (archiveid, replicaid, filename, offset, offset_data, size) VALUES ($a, $r, '', $o, $od, $s)",
                            ("$a", archiveId), ("$r", newId), ("$o", e.Offset), ("$od", e.DataOffset), ("$s", e.Size));
                        imported++;
                    }
                    else if (e.Type == 5)
                    {
                        var dirName = e.Name.TrimEnd('/');
                        var rep = FindLiveReplica(db, tx, dirName, null, adiosOnly: true);
                        if (rep is null) continue;
                        var newId = CopyReplica(db, tx, rep.Value, hostId, dirId, archiveId, rep.Value.Name, move: false);
                        Exec(db, tx, "INSERT OR REPLACE INTO archiveidx (archiveid, replicaid, filename, offset, offset_data, size) VALUES ($a, $r, '', $o, $od, $s)",
                            ("$a", archiveId), ("$r", newId), ("$o", e.Offset), ("$od", e.DataOffset), ("$s", e.Size));
                        for (int j = i + 1; j < entries.Count && entries[j].Name.StartsWith(dirName + "/", StringComparison.Ordinal); j++)
                        {
                            var member = entries[j];
                            var rel = member.Name[(dirName.Length + 1)..].TrimEnd('/');
                            if (rel.Length == 0 || member.Type == 5) continue;
                            Exec(db, tx, "INSERT OR REPLACE INTO archiveidx (archiveid, replicaid, filename, offset, offset_data, size) VALUES ($a, $r, $f, $o, $od, $s)",
                                ("$a", archiveId), ("$r", newId), ("$f", rel), ("$o", member.Offset), ("$od", member.DataOffset), ("$s", member.Size));
                        }
                        imported++;
                    }
                }
            }
            return new CampaignArchiveStorage(path, archiveId, hostName, dirId, directory, tar, system, imported);
        });
    }

    internal readonly record struct ReplicaRow(long Id, long DatasetId, string Name, long ModTime, long KeyId, long Size, long DelTime, string Format);

    private static ReplicaRow? FindLiveReplica(SqliteConnection db, SqliteTransaction tx, string name, long? size, bool adiosOnly)
    {
        using var cmd = Cmd(db, tx,
            "SELECT r.rowid, r.datasetid, r.name, r.modtime, r.keyid, r.size, r.deltime, d.fileformat FROM replica r JOIN dataset d ON d.rowid = r.datasetid " +
            "WHERE r.name = $n AND r.deltime = 0 AND r.archiveid = 0 " + (size is null ? "" : "AND r.size = $s ") + (adiosOnly ? "AND d.fileformat = 'ADIOS' " : "") +
            "ORDER BY r.rowid LIMIT 1", ("$n", name), ("$s", size));
        using var r = cmd.ExecuteReader();
        return r.Read() ? Row(r) : null;
    }

    private static ReplicaRow Row(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? 0 : r.GetInt64(3), r.IsDBNull(4) ? 0 : r.GetInt64(4),
            r.IsDBNull(5) ? 0 : r.GetInt64(5), r.IsDBNull(6) ? 0 : r.GetInt64(6), r.IsDBNull(7) ? "" : r.GetString(7));

    private static long CopyReplica(SqliteConnection db, SqliteTransaction tx, ReplicaRow source, long hostId, long dirId, long archiveId, string newName, bool move)
    {
        var now = CampaignDb.NowNs();
        var id = (long)Scalar(db, tx,
            "INSERT INTO replica (datasetid, hostid, dirid, archiveid, name, modtime, deltime, keyid, size) VALUES ($ds, $h, $d, $a, $n, $m, 0, $k, $s) " +
            "ON CONFLICT (datasetid, hostid, dirid, archiveid, name) DO UPDATE SET deltime = 0, modtime = excluded.modtime, keyid = excluded.keyid, size = excluded.size RETURNING rowid",
            ("$ds", source.DatasetId), ("$h", hostId), ("$d", dirId), ("$a", archiveId), ("$n", newName), ("$m", source.ModTime), ("$k", source.KeyId), ("$s", source.Size))!;
        Exec(db, tx, "INSERT OR REPLACE INTO resolution (replicaid, x, y) SELECT $new, x, y FROM resolution WHERE replicaid = $old", ("$new", id), ("$old", source.Id));
        if (move)
        {
            Exec(db, tx, "UPDATE OR IGNORE repfiles SET replicaid = $new WHERE replicaid = $old", ("$new", id), ("$old", source.Id));
            Exec(db, tx, "DELETE FROM repfiles WHERE replicaid = $old", ("$old", source.Id));
            Exec(db, tx, "UPDATE replica SET deltime = $t WHERE rowid = $old", ("$t", now), ("$old", source.Id));
        }
        else
        {
            Exec(db, tx, "INSERT OR IGNORE INTO repfiles (replicaid, fileid) SELECT $new, fileid FROM repfiles WHERE replicaid = $old", ("$new", id), ("$old", source.Id));
        }
        return id;
    }

    /// <summary>
    /// archived-replica (spec §2.1): copy a dataset's replica into the archival storage of directory <paramref name="directoryId"/>.
    /// </summary>
    public static CampaignReplicaResult AddArchivedReplica(string path, string datasetName, long directoryId, long? archiveId,
        string? newPath, long? replicaId, bool move)
    {
        return CampaignDb.Write(path, false, (db, tx) =>
        {
            var ds = Scalar(db, tx, "SELECT rowid FROM dataset WHERE name = $n", ("$n", datasetName)) as long?
                ?? throw new HpcException("DatasetNotFound", HpcErrorKind.ObjectNotFound, $"No dataset named '{datasetName}' in '{path}'.", datasetName);
            var format = (string)Scalar(db, tx, "SELECT fileformat FROM dataset WHERE rowid = $d", ("$d", ds))!;
            var hostId = Scalar(db, tx, "SELECT hostid FROM directory WHERE rowid = $d", ("$d", directoryId)) as long?
                ?? throw new HpcException("DirectoryNotFound", HpcErrorKind.ObjectNotFound, $"No directory with id {directoryId} in '{path}'.", directoryId);
            var archive = archiveId is long a
                ? Scalar(db, tx, "SELECT rowid FROM archive WHERE rowid = $a AND dirid = $d", ("$a", a), ("$d", directoryId)) as long?
                : Scalar(db, tx, "SELECT rowid FROM archive WHERE dirid = $d ORDER BY rowid LIMIT 1", ("$d", directoryId)) as long?;
            if (archive is null)
                throw new HpcException("ArchiveStorageNotFound", HpcErrorKind.ObjectNotFound,
                    $"Directory {directoryId} has no archival storage{(archiveId is null ? "" : $" with id {archiveId}")}; add it with Add-CampaignArchive.", directoryId);
            var candidates = new List<ReplicaRow>();
            using (var cmd = Cmd(db, tx, "SELECT r.rowid, r.datasetid, r.name, r.modtime, r.keyid, r.size, r.deltime, d.fileformat FROM replica r JOIN dataset d ON d.rowid = r.datasetid " +
                                         "WHERE r.datasetid = $d AND r.archiveid = 0 ORDER BY r.rowid", ("$d", ds)))
            using (var rd = cmd.ExecuteReader()) while (rd.Read()) candidates.Add(Row(rd));
            ReplicaRow source;
            if (replicaId is long rid)
                source = candidates.FirstOrDefault(c => c.Id == rid) is { Id: > 0 } found ? found
                    : throw new HpcException("ReplicaNotFound", HpcErrorKind.ObjectNotFound, $"Dataset '{datasetName}' has no replica {rid} outside archival storage.", rid);
            else
            {
                var live = candidates.Where(c => c.DelTime == 0).ToList();
                if (live.Count == 0 && format is "TEXT" or "IMAGE") live = candidates.Where(c => c.DelTime != 0).ToList();
                if (live.Count == 0)
                    throw new HpcException("ReplicaNotFound", HpcErrorKind.ObjectNotFound, $"Dataset '{datasetName}' has no replica to archive.", datasetName);
                if (live.Count > 1)
                    throw new HpcException("AmbiguousReplica", HpcErrorKind.InvalidArgument,
                        $"Dataset '{datasetName}' has {live.Count} replicas ({string.Join(", ", live.Select(l => l.Id))}); choose one with -ReplicaId.", datasetName);
                source = live[0];
            }
            var name = newPath ?? source.Name;
            CampaignItemReader.CheckName(name, name);
            var id = CopyReplica(db, tx, source, hostId, directoryId, archive.Value, name, move);
            return new CampaignReplicaResult(id, source.Id, archive.Value);
        });
    }

    /// <summary>time-series (spec §2.1), without the original's quirk of recreating a removed series.</summary>
    public static CampaignTimeSeries SetTimeSeries(string path, string name, IReadOnlyList<string> datasets, bool replace, bool remove, IHpcSink sink)
    {
        return CampaignDb.Write(path, false, (db, tx) =>
        {
            var tsid = Scalar(db, tx, "SELECT tsid FROM timeseries WHERE name = $n", ("$n", name)) as long?;
            if (remove)
            {
                if (tsid is null)
                    throw new HpcException("TimeSeriesNotFound", HpcErrorKind.ObjectNotFound, $"No time series named '{name}' in '{path}'.", name);
                Exec(db, tx, "UPDATE dataset SET tsid = 0, tsorder = 0 WHERE tsid = $t", ("$t", tsid));
                Exec(db, tx, "DELETE FROM timeseries WHERE tsid = $t", ("$t", tsid));
                return new CampaignTimeSeries(path, tsid.Value, name, Array.Empty<string>());
            }
            tsid ??= (long)Scalar(db, tx, "INSERT INTO timeseries (name) VALUES ($n) RETURNING tsid", ("$n", name))!;
            if (replace) Exec(db, tx, "UPDATE dataset SET tsid = 0, tsorder = 0 WHERE tsid = $t", ("$t", tsid));
            var next = Convert.ToInt64(Scalar(db, tx, "SELECT ifnull(max(tsorder) + 1, 0) FROM dataset WHERE tsid = $t", ("$t", tsid)));
            foreach (var d in datasets)
            {
                var id = Scalar(db, tx, "SELECT rowid FROM dataset WHERE name = $n", ("$n", d)) as long?;
                if (id is null)
                {
                    sink.Warning($"Dataset '{d}' is not in '{path}'; skipped.");
                    continue;
                }
                Exec(db, tx, "UPDATE dataset SET tsid = $t, tsorder = $o WHERE rowid = $id", ("$t", tsid), ("$o", next++), ("$id", id));
            }
            var members = new List<string>();
            using (var cmd = Cmd(db, tx, "SELECT name FROM dataset WHERE tsid = $t ORDER BY tsorder", ("$t", tsid)))
            using (var rd = cmd.ExecuteReader()) while (rd.Read()) members.Add(rd.GetString(0));
            return new CampaignTimeSeries(path, tsid.Value, name, members);
        });
    }
}

public sealed record CampaignReplicaResult(long ReplicaId, long SourceReplicaId, long ArchiveId);

/// <summary>The taridx CSV (spec §2.3): type,header offset,data offset,size,"name".</summary>
public static class TarIndex
{
    public sealed record Entry(int Type, long Offset, long DataOffset, long Size, string Name);

    /// <summary>Scans a (ustar/GNU/pax) TAR file by streaming its headers only.</summary>
    public static List<Entry> Scan(string tarPath)
    {
        var list = new List<Entry>();
        using var fs = new FileStream(tarPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = new byte[512];
        string? longName = null;
        while (true)
        {
            var offset = fs.Position;
            if (ReadFull(fs, header) < 512) break;
            if (header.All(b => b == 0)) break;
            if (!ChecksumOk(header))
                throw new HpcException("InvalidTarFile", HpcErrorKind.InvalidData, $"'{tarPath}' has a damaged TAR header at offset {offset}.", tarPath);
            var size = ParseOctal(header.AsSpan(124, 12));
            var typeFlag = (char)header[156];
            var dataOffset = offset + 512;
            var name = Cstr(header.AsSpan(0, 100));
            var prefix = Cstr(header.AsSpan(345, 155));
            if (Encoding.ASCII.GetString(header, 257, 5) == "ustar" && prefix.Length > 0) name = prefix + "/" + name;
            var padded = (size + 511) / 512 * 512;
            if (typeFlag is 'L' or 'x')
            {
                var data = new byte[size];
                ReadFull(fs, data);
                fs.Position = dataOffset + padded;
                if (typeFlag == 'L') longName = Cstr(data);
                else longName = PaxPath(data) ?? longName;
                continue;
            }
            if (typeFlag == 'g') { fs.Position = dataOffset + padded; continue; }
            if (longName is not null) { name = longName; longName = null; }
            int type = typeFlag is '\0' or '0' ? 0 : typeFlag is >= '1' and <= '7' ? typeFlag - '0' : typeFlag;
            if (type == 5) name = name.TrimEnd('/');
            list.Add(new Entry(type, offset, dataOffset, size, name));
            fs.Position = dataOffset + (type is 0 or 7 ? padded : 0);
        }
        return list;
    }

    private static string? PaxPath(byte[] data)
    {
        foreach (var line in Encoding.UTF8.GetString(data).Split('\n'))
        {
            var sp = line.IndexOf(' ');
            if (sp < 0) continue;
            var kv = line[(sp + 1)..];
            if (kv.StartsWith("path=", StringComparison.Ordinal)) return kv[5..];
        }
        return null;
    }

    private static int ReadFull(Stream s, byte[] buffer)
    {
        int total = 0, n;
        while (total < buffer.Length && (n = s.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        return total;
    }

    private static bool ChecksumOk(byte[] h)
    {
        var stored = ParseOctal(h.AsSpan(148, 8));
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? 32 : h[i];
        return sum == stored;
    }

    private static long ParseOctal(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            long v = 0;
            for (int i = 1; i < field.Length; i++) v = (v << 8) | field[i];
            return v;
        }
        var s = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        return s.Length == 0 ? 0 : Convert.ToInt64(s, 8);
    }

    private static string Cstr(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    public static int Write(string tarPath, string indexPath, bool overwrite)
    {
        var entries = Scan(tarPath);
        var sb = new StringBuilder();
        foreach (var e in entries)
            sb.Append(e.Type.ToString(CultureInfo.InvariantCulture)).Append(',').Append(e.Offset.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(e.DataOffset.ToString(CultureInfo.InvariantCulture)).Append(',').Append(e.Size.ToString(CultureInfo.InvariantCulture))
              .Append(",\"").Append(e.Name.Replace("\"", "\"\"")).Append("\"\n");
        if (File.Exists(indexPath) && !overwrite)
            throw new HpcException("DestinationExists", HpcErrorKind.ResourceExists, $"'{indexPath}' exists; use -Force to replace it.", indexPath);
        AtomicFile.WriteAllText(indexPath, sb.ToString(), overwrite);
        return entries.Count;
    }

    public static List<Entry> Read(string indexPath)
    {
        if (!File.Exists(indexPath))
            throw new HpcException("TarIndexNotFound", HpcErrorKind.ObjectNotFound, $"TAR index '{indexPath}' does not exist.", indexPath);
        var list = new List<Entry>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(indexPath))
        {
            lineNo++;
            if (line.Length == 0) continue;
            var parts = line.Split(',', 5);
            if (parts.Length < 5 || !int.TryParse(parts[0], out var type) || !long.TryParse(parts[1], out var off) ||
                !long.TryParse(parts[2], out var dataOff) || !long.TryParse(parts[3], out var size))
                throw new HpcException("InvalidTarIndex", HpcErrorKind.InvalidData, $"'{indexPath}' line {lineNo} is not type,offset,offset_data,size,\"name\".", indexPath);
            var name = parts[4].Trim();
            if (name.Length >= 2 && name[0] == '"' && name[^1] == '"') name = name[1..^1].Replace("\"\"", "\"");
            list.Add(new Entry(type, off, dataOff, size, name));
        }
        return list;
    }
}
