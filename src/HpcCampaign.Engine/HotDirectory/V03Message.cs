using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// One sr3 v03 notification message (spec §1): the JSON body in the field order sr3 watch emits (pubTime, relPath,
/// baseUrl, source, mode, size, mtime, atime, identity, contentType, fileOp) and the routing key v03.&lt;dirs&gt;.
/// </summary>
public sealed class V03Message
{
    public string PubTime { get; init; } = "";
    public string RelPath { get; init; } = "";
    public string BaseUrl { get; init; } = "";
    public string? Source { get; init; }
    public string? Mode { get; init; }
    public long? Size { get; init; }
    public string? MTime { get; init; }
    public string? ATime { get; init; }
    public string? IdentityMethod { get; init; }
    public string? IdentityValue { get; init; }
    public string? ContentType { get; init; }
    /// <summary>True for a delete (fileOp {"remove": ""}).</summary>
    public bool IsRemove { get; init; }

    /// <summary>Formats a UTC time as sr3 does (YYYYMMDDTHHMMSS.fraction, trailing zeros dropped, no '.' for a whole second,
    /// never the exponent form of spec §6.4).</summary>
    public static string FormatTime(DateTime utc)
    {
        utc = utc.ToUniversalTime();
        var head = utc.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);
        var ns = (utc.Ticks % TimeSpan.TicksPerSecond) * 100;
        if (ns == 0) return head;
        return head + "." + ns.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
    }

    /// <summary>Parses pubTime/mtime strings (v03 with T, v02 without, fraction as digits or a float with exponent).</summary>
    public static DateTime ParseTime(string text)
    {
        var t = text.Replace("T", "", StringComparison.Ordinal);
        if (t.Length < 14 || !DateTime.TryParseExact(t[..14], "yyyyMMddHHmmss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var whole))
            throw new HpcException("InvalidMessage", HpcErrorKind.InvalidData, $"'{text}' is not an sr3 timestamp.");
        if (t.Length > 14 && double.TryParse("0" + t[14..], NumberStyles.Float, CultureInfo.InvariantCulture, out var frac))
            whole = whole.AddTicks((long)Math.Round(frac * TimeSpan.TicksPerSecond));
        return DateTime.SpecifyKind(whole, DateTimeKind.Utc);
    }

    /// <summary>Routing key: prefix + directory components of relPath; '#' → %23, '*' → %22 (as sr3), at most 255 bytes.</summary>
    public static string RoutingKey(string prefix, string relPath)
    {
        var parts = relPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var sb = new StringBuilder(prefix);
        for (var i = 0; i < parts.Length - 1; i++)
            sb.Append('.').Append(parts[i].Replace("#", "%23", StringComparison.Ordinal).Replace("*", "%22", StringComparison.Ordinal));
        var key = sb.ToString();
        if (Encoding.UTF8.GetByteCount(key) <= 255) return key;
        var bytes = Encoding.UTF8.GetBytes(key);
        var len = 255;
        while (len > 0 && (bytes[len] & 0xC0) == 0x80) len--;
        return Encoding.UTF8.GetString(bytes, 0, len);
    }

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("pubTime", PubTime);
            w.WriteString("relPath", RelPath);
            w.WriteString("baseUrl", BaseUrl);
            if (Source is not null) w.WriteString("source", Source);
            if (Mode is not null) w.WriteString("mode", Mode);
            if (Size is not null) w.WriteNumber("size", Size.Value);
            if (MTime is not null) w.WriteString("mtime", MTime);
            if (ATime is not null) w.WriteString("atime", ATime);
            if (IdentityMethod is not null)
            {
                w.WriteStartObject("identity");
                w.WriteString("method", IdentityMethod);
                w.WriteString("value", IdentityValue ?? "");
                w.WriteEndObject();
            }
            if (ContentType is not null) w.WriteString("contentType", ContentType);
            if (IsRemove)
            {
                w.WriteStartObject("fileOp");
                w.WriteString("remove", "");
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Parses and validates a v03 body (pubTime, baseUrl, relPath present; pubTime well formed). InvalidMessage otherwise.</summary>
    public static V03Message Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            string? Str(string name) => r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var pub = Str("pubTime") ?? throw Bad("pubTime missing");
            var rel = Str("relPath") ?? throw Bad("relPath missing");
            var baseUrl = Str("baseUrl") ?? throw Bad("baseUrl missing");
            ParseTime(pub);
            long? size = null;
            if (r.TryGetProperty("size", out var sz))
                size = sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : long.Parse(sz.GetString() ?? "0", CultureInfo.InvariantCulture);
            string? im = null, iv = null;
            if (r.TryGetProperty("identity", out var id) && id.ValueKind == JsonValueKind.Object)
            {
                im = id.TryGetProperty("method", out var m) ? m.GetString() : null;
                iv = id.TryGetProperty("value", out var v) ? v.GetString() : null;
            }
            var remove = r.TryGetProperty("fileOp", out var op) && op.ValueKind == JsonValueKind.Object && op.TryGetProperty("remove", out _);
            return new V03Message
            {
                PubTime = pub, RelPath = rel.TrimStart('/'), BaseUrl = baseUrl, Source = Str("source"), Mode = Str("mode"),
                Size = size, MTime = Str("mtime"), ATime = Str("atime"), IdentityMethod = im, IdentityValue = iv,
                ContentType = Str("contentType"), IsRemove = remove,
            };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or OverflowException)
        {
            throw Bad(ex.Message);
        }
    }

    private static HpcException Bad(string why) => new("InvalidMessage", HpcErrorKind.InvalidData, "Not a valid v03 message: " + why);

    public static string GuessContentType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".txt" or ".log" or ".csv" or ".md" => "text/plain",
        ".json" => "application/json",
        ".xml" => "application/xml",
        ".h5" or ".hdf5" or ".nc" => "application/x-hdf",
        _ => "application/octet-stream",
    };
}
