using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Crypto;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Campaign;

/// <summary>Shared helpers of the campaign cmdlets: archive paths and key files.</summary>
public abstract class CampaignCmdletBase : HpcCmdlet
{
    /// <summary>Resolves an archive path (appending .aca like the original when the name lacks it).</summary>
    protected string? ResolveArchive(string path, bool mustExist)
    {
        var full = ResolveOutputPath(path);
        if (full is null) return null;
        if (!File.Exists(full) && !File.Exists(CampaignDb.WithExtension(full)) && InStore(path) is { } stored) full = stored;
        if (!File.Exists(full) && File.Exists(CampaignDb.WithExtension(full))) full = CampaignDb.WithExtension(full);
        else if (!File.Exists(full) && !mustExist) full = CampaignDb.WithExtension(full);
        if (mustExist && !File.Exists(full))
        {
            WriteHpcError(new HpcException("ArchiveNotFound", HpcErrorKind.ObjectNotFound, $"Campaign archive '{path}' does not exist.", path));
            return null;
        }
        return full;
    }

    /// <summary>
    /// Like the original: a bare relative name that does not exist here is looked up in the campaign store
    /// (campaignstorepath of config.yaml). Paths starting with ./, ../ or ~ are never redirected.
    /// </summary>
    private static string? InStore(string path)
    {
        if (System.IO.Path.IsPathRooted(path) || path.StartsWith("./", StringComparison.Ordinal) || path.StartsWith("../", StringComparison.Ordinal) ||
            path.StartsWith(".\\", StringComparison.Ordinal) || path.StartsWith("~", StringComparison.Ordinal))
            return null;
        string? store;
        try { store = HpcCampaign.Engine.Config.CampaignConfig.Load().CampaignStorePath; }
        catch (HpcException) { return null; }
        if (store is null) return null;
        var candidate = System.IO.Path.Combine(store, path);
        if (File.Exists(candidate)) return candidate;
        return File.Exists(CampaignDb.WithExtension(candidate)) ? CampaignDb.WithExtension(candidate) : null;
    }

    /// <summary>Loads and unlocks a key file (prompting for the password of a protected key). Null after an error record.</summary>
    protected (byte[] Key, string Id)? LoadKey(string keyPath, SecureString? password)
    {
        var full = ResolveOutputPath(keyPath);
        if (full is null) return null;
        try
        {
            var file = KeyFile.Load(full);
            var pw = file.IsProtected ? SecureToUtf8(password ?? PromptSecure($"Password for key {file.Id}")) : Array.Empty<byte>();
            try
            {
                return (file.Unlock(pw), file.Id);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pw);
            }
        }
        catch (HpcException ex)
        {
            WriteHpcError(ex);
            return null;
        }
    }
}

/// <summary>Common parameters and flow of Add-CampaignDataset / -Text / -Image: collect, then one transaction in EndProcessing.</summary>
public abstract class AddCampaignItemCommandBase : CampaignCmdletBase
{
    private readonly List<CampaignItemRequest> _items = new();
    private string? _archive;
    private string? _baseDirectory;
    private CampaignHost? _host;

    /// <summary>The .aca archive; created when it does not exist.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Files or folders to add (wildcards allowed); also from the pipeline (Get-ChildItem output).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Source { get; set; } = Array.Empty<string>();

    /// <summary>Dataset name (only with one source); default: the path relative to -Directory.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Key file (New-CampaignKey) that seals every embedded blob.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    [Parameter]
    public SecureString? Password { get; set; }

    /// <summary>Short host name recorded; default: config hostname, else the machine name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    /// <summary>Directory the replica names are relative to (default: the current location); the S3 bucket for S3 hosts.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Directory { get; set; }

    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Writes the added datasets.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected abstract CampaignItemKind Kind { get; }
    protected virtual CampaignItemRequest Customize(CampaignItemRequest request) => request;

    /// <summary>Modification time recorded for remote datasets (nothing to stat).</summary>
    protected virtual long RemoteModTime => 0;

    protected override void BeginProcessing()
    {
        _archive = ResolveArchive(Path, mustExist: false);
        if (_archive is null) return;
        try
        {
            var config = HpcCampaign.Engine.Config.CampaignConfig.Load();
            var hosts = HpcCampaign.Engine.Config.HostsConfig.Load();
            _host = CampaignHost.Resolve(HostName, config, hosts);
        }
        catch (HpcException ex)
        {
            Fail(ex);
        }
        if (_host!.IsS3 && Directory is null)
        {
            WriteHpcError(new HpcException("S3BucketRequired", HpcErrorKind.InvalidArgument,
                $"Host '{_host.ShortName}' is an S3 service; give the bucket with -Directory.", _host.ShortName));
            _archive = null;
            return;
        }
        _baseDirectory = Directory is null ? CurrentFileSystemLocation
            : _host!.IsRemote ? Directory.TrimEnd('/') : ResolveOutputPath(Directory);
        if (_baseDirectory is null) _archive = null;
        else if (!_host!.IsRemote) _baseDirectory = System.IO.Path.TrimEndingDirectorySeparator(_baseDirectory);
    }

    protected override void ProcessRecord()
    {
        if (_archive is null || _host is null || _baseDirectory is null) return;
        if (_host.IsRemote)
        {
            foreach (var s in Source)
                _items.Add(Customize(new CampaignItemRequest
                {
                    SourcePath = s, ReplicaName = s.Replace('\\', '/'), Directory = _baseDirectory, DatasetName = Name,
                    Kind = Kind, RemoteModTime = RemoteModTime,
                }));
            return;
        }
        foreach (var full in ExpandSources(Source))
        {
            var trimmed = System.IO.Path.TrimEndingDirectorySeparator(full);
            var relative = System.IO.Path.GetRelativePath(_baseDirectory, trimmed);
            string dir = _baseDirectory, name = relative;
            if (relative == ".." || relative.StartsWith(".." + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal) || System.IO.Path.IsPathRooted(relative))
            {
                dir = System.IO.Path.GetDirectoryName(trimmed)!;
                name = System.IO.Path.GetFileName(trimmed);
            }
            _items.Add(Customize(new CampaignItemRequest
            {
                SourcePath = trimmed, ReplicaName = name.Replace('\\', '/'), Directory = dir.Replace('\\', '/'), DatasetName = Name, Kind = Kind,
            }));
        }
    }

    /// <summary>
    /// Sources as PowerShell resolves them, but a wildcard in the last path segment only is matched here against one
    /// directory listing: PowerShell's provider globbing costs about half a millisecond per match, which dominated
    /// adding thousands of files. Hidden (dot) files are skipped, as PowerShell's globbing does without -Force.
    /// </summary>
    private List<string> ExpandSources(string[] sources)
    {
        var result = new List<string>();
        foreach (var s in sources)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(s))
            {
                result.AddRange(ResolveExistingPaths(new[] { s }, literal: true));
                continue;
            }
            var dirPart = System.IO.Path.GetDirectoryName(s);
            var namePart = System.IO.Path.GetFileName(s);
            if (namePart.Length == 0 || (!string.IsNullOrEmpty(dirPart) && WildcardPattern.ContainsWildcardCharacters(dirPart)) || s.Contains(':'))
            {
                result.AddRange(ResolveExistingPaths(new[] { s }, literal: false));
                continue;
            }
            var dir = ResolveOutputPath(string.IsNullOrEmpty(dirPart) ? "." : dirPart);
            if (dir is null) continue;
            var pattern = new WildcardPattern(namePart, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
            var matches = System.IO.Directory.Exists(dir)
                ? System.IO.Directory.EnumerateFileSystemEntries(dir)
                    .Where(e => System.IO.Path.GetFileName(e) is var n && !n.StartsWith('.') && pattern.IsMatch(n))
                    .OrderBy(e => e, StringComparer.Ordinal).ToList()
                : new List<string>();
            if (matches.Count == 0)
                WriteError(Errors.Create("PathNotFound", ErrorCategory.ObjectNotFound, $"Cannot find path '{s}' because it does not exist.", s));
            result.AddRange(matches);
        }
        return result;
    }

    protected override void EndProcessing()
    {
        if (_archive is null || _host is null || _items.Count == 0) return;
        if (Name is not null && _items.Count > 1)
        {
            WriteHpcError(new HpcException("NameWithManySources", HpcErrorKind.InvalidArgument,
                $"-Name can only be used with one source; {_items.Count} were given. Nothing was added.", Name));
            return;
        }
        if (!ShouldProcess(_archive, _items.Count == 1 ? $"Add '{_items[0].ReplicaName}'" : $"Add {_items.Count} items")) return;
        (byte[] Key, string Id)? key = null;
        if (Key is not null)
        {
            key = LoadKey(Key, Password);
            if (key is null) return;
        }
        var options = new CampaignAddOptions
        {
            ArchivePath = _archive, Host = _host, Key = key?.Key, KeyId = key?.Id, ThrottleLimit = ThrottleLimit, PassThru = PassThru,
        };
        var items = _items.ToList();
        RunWork((sink, ct) =>
        {
            try
            {
                var n = CampaignAdd.Add(options, items, sink, ct);
                sink.Verbose($"{n} item(s) written to '{options.ArchivePath}' in one transaction.");
            }
            finally
            {
                if (key is { } k) CryptographicOperations.ZeroMemory(k.Key);
            }
            return Task.CompletedTask;
        }, _archive);
    }
}
