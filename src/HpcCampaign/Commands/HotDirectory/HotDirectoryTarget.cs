using System.Management.Automation;
using HpcCampaign.Engine.Config;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>Finds which hot directory (name + state folder) a cmdlet means: -ConfigPath, or -Name with an optional -StateDirectory.</summary>
internal static class HotDirectoryTarget
{
    public static string HotDirectoriesRoot => Path.Combine(ConfigPaths.StateDirectory, "hotdirectory");

    /// <summary>(name, state folder) pairs; with nothing given, every hot directory under the default state folder.</summary>
    public static List<(string Name, string State)> Resolve(HpcCmdlet cmdlet, Func<string, string?> resolvePath, string? configPath, string[]? names, string? stateDirectory)
    {
        var result = new List<(string, string)>();
        if (configPath is not null)
        {
            var path = resolvePath(configPath);
            if (path is null) return result;
            var settings = HotDirectorySettings.Load(path);
            if (stateDirectory is not null) settings.StateDirectory = resolvePath(stateDirectory);
            result.Add((settings.Name, settings.ResolvedStateDirectory));
            return result;
        }
        if (stateDirectory is not null)
        {
            var state = resolvePath(stateDirectory);
            if (state is null) return result;
            result.Add((names is { Length: > 0 } ? names[0] : Path.GetFileName(state.TrimEnd('/', '\\')), state));
            return result;
        }
        var all = Directory.Exists(HotDirectoriesRoot)
            ? Directory.GetDirectories(HotDirectoriesRoot).Select(d => Path.GetFileName(d)).OrderBy(n => n, StringComparer.Ordinal).ToList()
            : new List<string>();
        if (names is null || names.Length == 0)
        {
            result.AddRange(all.Select(n => (n, Path.Combine(HotDirectoriesRoot, n))));
            return result;
        }
        foreach (var pattern in names)
        {
            var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase);
            var hits = all.Where(wildcard.IsMatch).ToList();
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                throw new HpcException("HotDirectoryNotFound", HpcErrorKind.ObjectNotFound,
                    $"No hot directory named '{pattern}' under '{HotDirectoriesRoot}'.", pattern);
            result.AddRange(hits.Select(n => (n, Path.Combine(HotDirectoriesRoot, n))));
        }
        return result;
    }
}

/// <summary>
/// Base of the cmdlets that act on existing hot directories: picked by -Name (wildcards; default all), by the
/// -ConfigPath they were started with, or by an explicit -StateDirectory.
/// </summary>
public abstract class HotDirectoryTargetCmdlet : HpcCmdlet
{
    [Parameter(Position = 0, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Config")]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    /// <summary>(name, state folder) pairs; false (with an error record written) when they cannot be resolved.</summary>
    protected bool TryResolveTargets(out List<(string Name, string State)> targets)
    {
        List<(string Name, string State)> found = new();
        var ok = TryEngine(() => found = HotDirectoryTarget.Resolve(this, ResolveOutputPath, ConfigPath, Name, StateDirectory), ConfigPath ?? (object?)Name);
        targets = found;
        return ok;
    }
}
