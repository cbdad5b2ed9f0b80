using System.Management.Automation;
using HpcCampaign.Engine.Rucio;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Rucio;

/// <summary>
/// <para type="synopsis">Uploads files in parallel batches to a Rucio storage element and registers them under a scope.</para>
/// Native transport: Rucio's REST API (rucio.cfg; userpass, x509, x509_proxy, cached token) with S3, presigned
/// HTTPS, WebDAV, posix or SFTP storage. -RucioCommand runs the real `rucio upload` per batch instead. Emits one
/// RucioUploadRecord per file; writes one JSON summary in Rucio's shape; a re-run skips what is registered.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "RucioBatch", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RucioUploadRecord), typeof(HpcJob))]
public sealed class SendRucioBatchCommand : HpcCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private readonly List<string> _files = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Files; wildcards, including ** for any number of folders.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files without wildcard expansion; Get-ChildItem output binds here (PSPath).</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Scope { get; set; } = "";

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Rse { get; set; } = "";

    /// <summary>Lifetime of the replication rule in seconds. None by default: the data stays.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long Lifetime { get; set; }

    [Parameter]
    [ValidateRange(1, 100_000)]
    public int BatchSize { get; set; } = 100;

    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Dataset ("scope:name" or "name" in -Scope) the files are attached to; created when missing.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Dataset { get; set; }

    /// <summary>The combined summary (one JSON object in Rucio's rucio_upload.json shape); failures go next to it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SummaryPath { get; set; }

    /// <summary>rucio.cfg; default $RUCIO_CONFIG, $RUCIO_HOME/etc, $VIRTUAL_ENV/etc, $CONDA_PREFIX/etc, /opt/rucio/etc.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RucioConfig { get; set; }

    /// <summary>Rucio username and password (userpass), overriding rucio.cfg.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Run this `rucio` command per batch instead of the native transport, e.g. apptainer,exec,rucio.sif,rucio.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? RucioCommand { get; set; }

    /// <summary>Only RSE protocols of this implementation (rucio's --impl, e.g. gfal.NoRename).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Impl { get; set; }

    /// <summary>Only RSE protocols with this scheme (rucio's --protocol, e.g. s3, davs, scp).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Scheme { get; set; }

    /// <summary>Transfer attempts per file (native) or batch (CLI), with back-off 1, 2, 4... s.</summary>
    [Parameter]
    [ValidateRange(1, 20)]
    public int RetryCount { get; set; } = 3;

    /// <summary>Upload first (checksums computed during the upload, the only read), then register as available.</summary>
    [Parameter]
    public SwitchParameter RegisterAfterUpload { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == LiteralSet)
        {
            foreach (var p in ResolveExistingPaths(LiteralPath, literal: true)) Add(p);
            return;
        }
        foreach (var p in Path)
        {
            if (p.Contains("**", StringComparison.Ordinal))
            {
                var full = ResolveOutputPath(p);
                if (full is null) continue;
                var any = false;
                foreach (var f in RucioGlob.Expand(full)) { Add(f); any = true; }
                if (!any)
                    WriteError(Errors.Create("PathNotFound", ErrorCategory.ObjectNotFound, $"Cannot find any file matching '{p}'.", p));
                continue;
            }
            foreach (var f in ResolveExistingPaths(new[] { p }, literal: false)) Add(f);
        }
    }

    private void Add(string path)
    {
        if (Directory.Exists(path))
        {
            WriteVerbose($"Skipping the folder '{path}' (give its files, e.g. -Path '{path}/**').");
            return;
        }
        if (_seen.Add(path)) _files.Add(path);
    }

    protected override void EndProcessing()
    {
        if (_files.Count == 0) return;
        var items = new List<RucioUploadItem>();
        foreach (var f in _files)
        {
            var name = System.IO.Path.GetFileName(f);
            if (ShouldProcess(f, $"Upload to Rucio as {Scope}:{name} on {Rse}")) items.Add(new RucioUploadItem(f, name));
        }
        if (items.Count == 0) return;

        var summaryPath = SummaryPath is null ? null : ResolveOutputPath(SummaryPath);
        if (SummaryPath is not null && summaryPath is null) return;
        var configPath = RucioConfig is null ? null : ResolveOutputPath(RucioConfig);
        if (RucioConfig is not null && configPath is null) return;
        var lifetime = MyInvocation.BoundParameters.ContainsKey(nameof(Lifetime)) ? Lifetime : (long?)null;
        string[]? command = null;
        if (RucioCommand is { Length: > 0 })
        {
            command = (string[])RucioCommand.Clone();
            // a relative path to a script is relative to the PowerShell location, not the process directory
            if (command[0].Contains('/') && !System.IO.Path.IsPathRooted(command[0])) command[0] = ResolveOutputPath(command[0]) ?? command[0];
        }
        var options = new RucioUploadOptions
        {
            Scope = Scope, Rse = Rse, Lifetime = lifetime, BatchSize = BatchSize, ThrottleLimit = ThrottleLimit, Dataset = Dataset,
            SummaryPath = summaryPath, Impl = Impl, Scheme = Scheme, Attempts = RetryCount, RegisterAfterUpload = RegisterAfterUpload, RucioCommand = command, ConfigPath = configPath,
        };

        if (command is not null)
        {
            if (Credential is not null)
                WriteWarning("-Credential is not passed to -RucioCommand (it would show on the command line); the rucio command uses its own rucio.cfg.");
            RucioCliUploader? cli = null;
            if (!TryEngine(() => cli = new RucioCliUploader(options, NullSink.Instance), summaryPath)) return;
            RunOrStartJob(AsJob, Environment.MachineName, (sink, ct) => new RucioCliUploader(options, sink).RunAsync(items, ct));
            return;
        }

        Engine.Rucio.RucioConfig? config = null;
        if (!TryEngine(() => config = Engine.Rucio.RucioConfig.Load(configPath), configPath)) return;
        if (Credential is not null)
        {
            config = config!.With("client", "auth_type", "userpass")
                .With("client", "username", Credential.UserName)
                .With("client", "password", Credential.GetNetworkCredential().Password);
        }
        if (!TryEngine(() => RucioSummary.Open(summaryPath), summaryPath)) return;
        var cfg = config!;
        RunOrStartJob(AsJob, cfg.RucioHost, (sink, ct) => new RucioUploader(cfg, options, sink).RunAsync(items, ct));
    }
}
