using System.Text;

namespace HpcCampaign.Engine.Connector;

/// <summary>A parsed connector request: the command (path without '/') and the first value of each query key.</summary>
public sealed record ConnectorRequest(string Command, IReadOnlyDictionary<string, string> Query)
{
    public string? Get(string key) => Query.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
}

/// <summary>
/// The connector's wire format (spec campaign-archive §6), shared with ADIOS2: one ASCII request per connection,
/// an URL path with a query string; one reply of comma-separated key:value pairs, no newline. ADIOS splits replies on
/// ',' then ':' and accepts only the keys port, cookie, msg and key.
/// </summary>
public static class ConnectorProtocol
{
    public const int MaxRequestBytes = 2048;
    public const string RunService = "run_service";
    public const string ConnectPort = "connect_port";
    public const string Reverse = "reverse";
    public const string GetKey = "get_key";

    public const string IncorrectRequestFormat = "incorrect_request_format";

    /// <summary>
    /// Parses a request like the original: UTF-8, all whitespace and NUL removed, path + query string, blank values
    /// dropped, first value of a repeated key wins. Null when it is not a known command with a non-empty query.
    /// </summary>
    public static ConnectorRequest? Parse(ReadOnlySpan<byte> raw)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(raw);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
            if (!char.IsWhiteSpace(c) && c != '\0') sb.Append(c);
        text = sb.ToString();
        var q = text.IndexOf('?');
        if (q < 0) return null;
        var path = text[..q];
        var fragment = text.IndexOf('#', q);
        var query = fragment < 0 ? text[(q + 1)..] : text[(q + 1)..fragment];
        var command = path switch
        {
            "/" + RunService => RunService,
            "/" + ConnectPort => ConnectPort,
            "/" + Reverse => Reverse,
            "/" + GetKey => GetKey,
            _ => null,
        };
        if (command is null || query.Length == 0) return null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in query.Split('&'))
        {
            var eq = field.IndexOf('=');
            if (eq <= 0) continue;
            var key = Decode(field[..eq]);
            var value = Decode(field[(eq + 1)..]);
            if (key is null || value is null || value.Length == 0) continue;
            values.TryAdd(key, value);
        }
        return new ConnectorRequest(command, values);
    }

    private static string? Decode(string s)
    {
        try
        {
            return Uri.UnescapeDataString(s.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    public static string PortError(string token) => $"port:-1,msg:{token}";
    public static string PortError(int port, string token) => $"port:{port},msg:{token}";
    public static string KeyError(string token) => $"key:0,msg:{token}";

    /// <summary>run_service / connect_port / reverse success. The cookie is left out when there is none (the original wrote cookie:None).</summary>
    public static string PortReply(int port, string? cookie = null) =>
        string.IsNullOrEmpty(cookie) ? $"port:{port},msg:no_error" : $"port:{port},cookie:{cookie},msg:no_error";

    public static string KeyReply(ReadOnlySpan<byte> key) => $"key:{Convert.ToHexString(key).ToLowerInvariant()},msg:no_error";

    /// <summary>
    /// The first line a remote service prints: `port:NNNN;msg:no_error;cookie:0x...` (';'-separated; port and msg
    /// required, cookie optional). Returns false when the line does not have that shape.
    /// </summary>
    public static bool TryParseServiceLine(string? line, out int port, out string message, out string? cookie)
    {
        port = -1;
        message = "";
        cookie = null;
        if (string.IsNullOrWhiteSpace(line)) return false;
        bool hasPort = false, hasMsg = false;
        foreach (var part in line.Trim().Split(';'))
        {
            var colon = part.IndexOf(':');
            if (colon <= 0) continue;
            var key = part[..colon].Trim();
            var value = part[(colon + 1)..].Trim();
            switch (key)
            {
                case "port":
                    hasPort = int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out port);
                    break;
                case "msg":
                    hasMsg = true;
                    message = value;
                    break;
                case "cookie":
                    // ',' and ':' would break ADIOS's reply parser; the original's "None" means no cookie
                    cookie = value.Length == 0 || value == "None" || value.IndexOfAny(new[] { ',', ':' }) >= 0 ? null : value;
                    break;
            }
        }
        return hasPort && hasMsg;
    }
}
