using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HpcCampaign.Engine.Campaign;

public sealed class ScalarFieldRequest
{
    /// <summary>A .npy file (shape and dtype from its header) or raw little-endian row-major values.</summary>
    public required string SourcePath { get; init; }
    /// <summary>The working directory the in-memory naming rules use (spec §1.3).</summary>
    public required string Directory { get; init; }
    public string? DatasetName { get; init; }
    public string? ReplicaName { get; init; }
    /// <summary>Height and width for raw input.</summary>
    public int[]? Shape { get; init; }
    /// <summary>numpy dtype name for raw input (float32, float64, int8..int64, uint8..uint64).</summary>
    public string? DataType { get; init; }
    /// <summary>User metadata (a JSON object's text), merged under the fixed keys.</summary>
    public string? MetadataJson { get; init; }
}

/// <summary>scalar-field (spec §3.4): a 2-D array stored raw with a sorted-key JSON description.</summary>
public static class ScalarField
{
    private static readonly Dictionary<string, (string Name, int Size)> NpyTypes = new()
    {
        ["f4"] = ("float32", 4), ["f8"] = ("float64", 8), ["i1"] = ("int8", 1), ["i2"] = ("int16", 2), ["i4"] = ("int32", 4),
        ["i8"] = ("int64", 8), ["u1"] = ("uint8", 1), ["u2"] = ("uint16", 2), ["u4"] = ("uint32", 4), ["u8"] = ("uint64", 8),
    };

    private static HpcException Bad(string path, string why) =>
        new("InvalidScalarField", HpcErrorKind.InvalidData, $"'{path}': {why}", path);

    /// <summary>Reads the values and returns (height, width, dtype, little-endian bytes).</summary>
    internal static (int H, int W, string DType, byte[] Data) Read(ScalarFieldRequest r)
    {
        if (!File.Exists(r.SourcePath))
            throw new HpcException("SourceNotFound", HpcErrorKind.ObjectNotFound, $"'{r.SourcePath}' does not exist.", r.SourcePath);
        var bytes = File.ReadAllBytes(r.SourcePath);
        if (bytes.Length >= 10 && bytes[0] == 0x93 && Encoding.ASCII.GetString(bytes, 1, 5) == "NUMPY")
        {
            int major = bytes[6];
            int headerLen = major == 1 ? BitConverter.ToUInt16(bytes, 8) : (int)BitConverter.ToUInt32(bytes, 8);
            int start = major == 1 ? 10 : 12;
            var header = Encoding.Latin1.GetString(bytes, start, headerLen);
            var descr = Regex.Match(header, @"'descr':\s*'([<>|=])([a-z]\d+)'");
            var shape = Regex.Match(header, @"'shape':\s*\((\d+),\s*(\d+),?\s*\)");
            if (!descr.Success || !shape.Success) throw Bad(r.SourcePath, "only 2-D .npy arrays of plain numbers are supported");
            if (Regex.IsMatch(header, @"'fortran_order':\s*True")) throw Bad(r.SourcePath, "Fortran-ordered arrays are not supported; save it in C order");
            if (descr.Groups[1].Value == ">") throw Bad(r.SourcePath, "big-endian arrays are not supported");
            if (!NpyTypes.TryGetValue(descr.Groups[2].Value, out var t)) throw Bad(r.SourcePath, $"dtype '{descr.Groups[2].Value}' is not supported");
            int h = int.Parse(shape.Groups[1].Value, CultureInfo.InvariantCulture), w = int.Parse(shape.Groups[2].Value, CultureInfo.InvariantCulture);
            var data = bytes.AsSpan(start + headerLen).ToArray();
            if ((long)h * w * t.Size != data.Length) throw Bad(r.SourcePath, $"the data has {data.Length} bytes, the header says {h}x{w} {t.Name}");
            return (h, w, t.Name, data);
        }
        if (r.Shape is not { Length: 2 } || r.DataType is null)
            throw Bad(r.SourcePath, "raw input needs -Shape height,width and -DataType");
        var type = NpyTypes.Values.FirstOrDefault(x => x.Name == r.DataType);
        if (type.Name is null) throw Bad(r.SourcePath, $"dtype '{r.DataType}' is not supported");
        if ((long)r.Shape[0] * r.Shape[1] * type.Size != bytes.Length)
            throw Bad(r.SourcePath, $"{bytes.Length} bytes do not hold {r.Shape[0]}x{r.Shape[1]} {type.Name} values");
        return (r.Shape[0], r.Shape[1], type.Name, bytes);
    }

    private static IEnumerable<double> Values(byte[] data, string dtype)
    {
        switch (dtype)
        {
            case "float32": for (int i = 0; i < data.Length; i += 4) yield return BitConverter.ToSingle(data, i); break;
            case "float64": for (int i = 0; i < data.Length; i += 8) yield return BitConverter.ToDouble(data, i); break;
            case "int8": foreach (var b in data) yield return (sbyte)b; break;
            case "uint8": foreach (var b in data) yield return b; break;
            case "int16": for (int i = 0; i < data.Length; i += 2) yield return BitConverter.ToInt16(data, i); break;
            case "uint16": for (int i = 0; i < data.Length; i += 2) yield return BitConverter.ToUInt16(data, i); break;
            case "int32": for (int i = 0; i < data.Length; i += 4) yield return BitConverter.ToInt32(data, i); break;
            case "uint32": for (int i = 0; i < data.Length; i += 4) yield return BitConverter.ToUInt32(data, i); break;
            case "int64": for (int i = 0; i < data.Length; i += 8) yield return BitConverter.ToInt64(data, i); break;
            default: for (int i = 0; i < data.Length; i += 8) yield return BitConverter.ToUInt64(data, i); break;
        }
    }

    /// <summary>Sorted-key JSON with Python json.dumps separators (", " and ": ").</summary>
    internal static string SortedJson(JsonElement e)
    {
        var sb = new StringBuilder();
        void Write(JsonElement x)
        {
            switch (x.ValueKind)
            {
                case JsonValueKind.Object:
                    sb.Append('{');
                    var first = true;
                    foreach (var p in x.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        if (!first) sb.Append(", ");
                        first = false;
                        sb.Append(JsonSerializer.Serialize(p.Name)).Append(": ");
                        Write(p.Value);
                    }
                    sb.Append('}');
                    break;
                case JsonValueKind.Array:
                    sb.Append('[');
                    var i = 0;
                    foreach (var v in x.EnumerateArray()) { if (i++ > 0) sb.Append(", "); Write(v); }
                    sb.Append(']');
                    break;
                case JsonValueKind.String: sb.Append(JsonSerializer.Serialize(x.GetString())); break;
                default: sb.Append(x.GetRawText()); break;
            }
        }
        Write(e);
        return sb.ToString();
    }

    private static string PyNumber(double v, bool integral) =>
        integral ? ((long)v).ToString(CultureInfo.InvariantCulture)
        : v == Math.Floor(v) && Math.Abs(v) < 1e16 ? v.ToString("F1", CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Builds the prepared dataset and the metadata JSON of the scalar_field row.</summary>
    public static (PreparedItem Item, string Metadata) Prepare(ScalarFieldRequest r, byte[]? key)
    {
        var (h, w, dtype, data) = Read(r);
        var user = new Dictionary<string, string>(StringComparer.Ordinal);   // key → raw JSON
        if (r.MetadataJson is not null)
        {
            try
            {
                using var doc = JsonDocument.Parse(r.MetadataJson);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
                foreach (var p in doc.RootElement.EnumerateObject()) user[p.Name] = p.Value.GetRawText();
            }
            catch (JsonException ex)
            {
                throw new HpcException("InvalidMetadataJson", HpcErrorKind.InvalidData, $"The scalar-field metadata is not a JSON object: {ex.Message}", r.SourcePath, ex);
            }
        }
        var fixedKeys = new Dictionary<string, string>
        {
            ["format_version"] = "1", ["kind"] = "\"scalarField\"", ["rank"] = "2", ["shape"] = $"[{h}, {w}]", ["dtype"] = $"\"{dtype}\"",
            ["byte_order"] = "\"little\"", ["layout"] = "\"row-major\"", ["encoding"] = "\"raw\"", ["compression"] = "\"none\"",
            ["value_encoding"] = "\"direct\"",
        };
        foreach (var (k, v) in fixedKeys) user[k] = v;
        if (!user.ContainsKey("min") || !user.ContainsKey("max"))
        {
            var finite = Values(data, dtype).Where(double.IsFinite).ToList();
            var integral = !dtype.StartsWith("float", StringComparison.Ordinal);
            if (finite.Count > 0)
            {
                user.TryAdd("min", PyNumber(finite.Min(), integral));
                user.TryAdd("max", PyNumber(finite.Max(), integral));
            }
        }
        var metadata = SortedJson(JsonDocument.Parse("{" + string.Join(",", user.Select(kv => JsonSerializer.Serialize(kv.Key) + ":" + kv.Value)) + "}").RootElement);
        string uuid;
        if (r.DatasetName is not null) uuid = CampaignIds.Uuid3Url(r.Directory + "/" + r.DatasetName);
        else
        {
            var digest = SHA1.HashData(data.Concat(Encoding.UTF8.GetBytes(metadata)).ToArray());
            uuid = CampaignIds.Uuid5Oid(Convert.ToHexString(digest).ToLowerInvariant());
        }
        var name = r.DatasetName ?? $"memory-scalar-fields/scalar-{uuid[..12]}.raw";
        var replicaName = r.ReplicaName ?? $"memory-scalar-fields/{uuid}.raw";
        CampaignItemReader.CheckName(name, r.SourcePath);
        CampaignItemReader.CheckName(replicaName, r.SourcePath);
        var now = CampaignDb.NowNs();
        var item = new PreparedItem { DatasetName = name, Uuid = uuid, Format = "SCALAR_FIELD", ModTime = now };
        var replica = new PreparedReplica { Directory = r.Directory, Name = replicaName, ModTime = now, Size = data.Length, Width = w, Height = h };
        replica.Files.Add(BlobCodec.EncodeBytes(data, $"{w}x{h}.{dtype}.raw", compress: false, key, now));
        item.Replicas.Add(replica);
        return (item, metadata);
    }

    /// <summary>Adds one scalar field in one transaction; returns the dataset id.</summary>
    public static long Add(string archive, CampaignHost host, ScalarFieldRequest request, byte[]? key, string? keyId)
    {
        var (item, metadata) = Prepare(request, key);
        return CampaignDb.Write(archive, true, (db, tx) =>
        {
            CampaignSchema.Exec(db, tx, CampaignSchema.ScalarField.Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS "));
            using var writer = new CampaignWriter(db, tx, host, keyId, CampaignDb.NowNs());
            var id = writer.Write(item);
            using var cmd = db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO scalar_field (datasetid, metadata) VALUES ($d, $m) ON CONFLICT (datasetid) DO UPDATE SET metadata = excluded.metadata";
            cmd.Parameters.AddWithValue("$d", id);
            cmd.Parameters.AddWithValue("$m", metadata);
            cmd.ExecuteNonQuery();
            return id;
        });
    }
}
