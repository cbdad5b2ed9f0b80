using System.Text.Json.Nodes;

namespace HpcCampaign.Engine.Rucio;

/// <summary>One protocol entry of an RSE (GET /rses/{rse} → protocols[]).</summary>
public sealed record RseProtocol(string Scheme, string Hostname, int Port, string Prefix, string Impl,
    int WanWrite, int LanWrite, JsonObject? ExtendedAttributes)
{
    /// <summary>{scheme}://{hostname}:{port}{web_service_path}{prefix}{path}; prefix normalised to /.../ (Rucio's rule).</summary>
    public string Pfn(string path)
    {
        var prefix = "/" + Prefix.Trim('/') + "/";
        if (prefix == "//") prefix = "/";
        var webServicePath = ExtendedAttributes?["web_service_path"]?.GetValue<string>() ?? "";
        var port = Port == 0 ? "" : ":" + Port;
        return $"{Scheme}://{Hostname}{port}{webServicePath}{prefix}{path.TrimStart('/')}";
    }

    public static RseProtocol FromJson(JsonNode p)
    {
        var domains = p["domains"] as JsonObject;
        static int Prio(JsonObject? d, string domain) =>
            d?[domain]?["write"] is JsonNode n && n.GetValueKind() == System.Text.Json.JsonValueKind.Number ? n.GetValue<int>() : 0;
        return new RseProtocol(
            (string?)p["scheme"] ?? "",
            (string?)p["hostname"] ?? "",
            p["port"] is JsonNode port ? (port.GetValueKind() == System.Text.Json.JsonValueKind.String ? int.Parse(port.GetValue<string>()) : port.GetValue<int>()) : 0,
            (string?)p["prefix"] ?? "",
            (string?)p["impl"] ?? "",
            Prio(domains, "wan"), Prio(domains, "lan"),
            p["extended_attributes"] as JsonObject);
    }
}

/// <summary>What an upload needs to know about an RSE: settings, write protocols and attributes.</summary>
public sealed class RseInfo
{
    public RseInfo(string name, bool deterministic, bool availabilityWrite, IReadOnlyList<RseProtocol> protocols, JsonObject attributes, string lfn2PfnDefault)
    {
        Name = name;
        Deterministic = deterministic;
        AvailabilityWrite = availabilityWrite;
        Protocols = protocols;
        Attributes = attributes;
        Lfn2PfnAlgorithm = Attr("lfn2pfn_algorithm") ?? lfn2PfnDefault;
    }

    public string Name { get; }
    public bool Deterministic { get; }
    public bool AvailabilityWrite { get; }
    public IReadOnlyList<RseProtocol> Protocols { get; }
    public JsonObject Attributes { get; }
    public string Lfn2PfnAlgorithm { get; }
    public string? SignUrl => Attr("sign_url");
    public bool VerifyChecksum => !string.Equals(Attr("verify_checksum"), "false", StringComparison.OrdinalIgnoreCase);
    public bool SkipUploadStat => string.Equals(Attr("skip_upload_stat"), "true", StringComparison.OrdinalIgnoreCase);

    public string? Attr(string key) => Attributes[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        JsonNode n => n.ToJsonString().Trim('"'),
    };

    /// <summary>
    /// Write candidates in the RSE's order: wan write priority (lower first, 0 = not for writing), filtered by the
    /// implementation (e.g. gfal.NoRename, Rucio's --impl) and scheme when given.
    /// </summary>
    public IReadOnlyList<RseProtocol> WriteProtocols(string? impl, string? scheme)
    {
        var fullImpl = impl is null ? null
            : impl.StartsWith("rucio.", StringComparison.Ordinal) ? impl
            : impl.Contains('.') ? "rucio.rse.protocols." + impl
            : $"rucio.rse.protocols.{impl}.Default";
        return Protocols
            .Where(p => p.WanWrite > 0)
            .Where(p => fullImpl is null || p.Impl == fullImpl)
            .Where(p => scheme is null || string.Equals(p.Scheme, scheme, StringComparison.OrdinalIgnoreCase))
            .OrderBy(p => p.WanWrite)
            .ToList();
    }

    public static RseInfo FromJson(string rse, JsonNode settings, JsonObject attributes, string lfn2PfnDefault)
    {
        var protocols = (settings["protocols"] as JsonArray ?? new JsonArray()).Where(p => p is not null).Select(p => RseProtocol.FromJson(p!)).ToList();
        return new RseInfo(
            (string?)settings["rse"] ?? rse,
            settings["deterministic"]?.GetValue<bool>() ?? true,
            settings["availability_write"]?.GetValue<bool>() ?? true,
            protocols, attributes, lfn2PfnDefault);
    }
}
