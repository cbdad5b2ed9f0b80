using System.Text.RegularExpressions;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>EPN names: proposal digits plus an optional lower-case suffix (12282a). The digits select the project.</summary>
public static partial class EpnName
{
    [GeneratedRegex("^([0-9]+)[a-z]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? epn) => epn is not null && Pattern().IsMatch(epn);

    /// <summary>The proposal number (map key) of a valid EPN; InvalidEpn otherwise (the original crashed here).</summary>
    public static string Number(string epn)
    {
        var m = epn is null ? null : Pattern().Match(epn);
        if (m is null || !m.Success)
            throw new HpcException("InvalidEpn", HpcErrorKind.InvalidArgument,
                $"'{epn}' is not an EPN: expected digits with an optional lower-case suffix, e.g. 12282a.", epn);
        return SynchrotronConfig.NormaliseKey(m.Groups[1].Value);
    }

    /// <summary>The project an EPN maps to, or null.</summary>
    public static string? ProjectOf(SynchrotronConfig config, string epn) =>
        config.EpnCapMap.TryGetValue(Number(epn), out var cap) ? cap : null;

    public static string RequireProject(SynchrotronConfig config, string epn) =>
        ProjectOf(config, epn) ?? throw new HpcException("EpnNotMapped", HpcErrorKind.ObjectNotFound,
            $"EPN {epn} (number {Number(epn)}) has no project in epn_cap_map of '{config.Path}'.", epn)
        { RecommendedAction = "Add the EPN number to epn_cap_map; Send-SynchrotronEpnAlert reports such EPNs." };
}
