using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Watches a folder and delivers every complete file to a remote folder over SFTP, verified, through a durable queue.</para>
/// Runs until Ctrl+C or Stop-HotDirectory (progress shows posted/delivered/queued), or in the background with -AsJob.
/// Settings come from -ConfigPath (YAML) and/or parameters; parameters win.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "HotDirectory", SupportsShouldProcess = true)]
[OutputType(typeof(HotDirectoryStatus), typeof(HpcJob))]
public sealed class StartHotDirectoryCommand : HpcCmdlet
{
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    [Parameter] [ValidateNotNullOrEmpty] public string? Name { get; set; }
    /// <summary>The folder to watch (e.g. ~/to_cluster).</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? WatchDirectory { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? StateDirectory { get; set; }
    /// <summary>amqp(s)://user@host:port/vhost, or 'none' for the embedded queue.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? BrokerUrl { get; set; }
    [Parameter] [Credential] public PSCredential? BrokerCredential { get; set; }
    /// <summary>sr3-style credentials.conf holding the broker URL with its password.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? CredentialsFile { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? Exchange { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? Queue { get; set; }
    [Parameter] [ValidateRange(1, 1000)] public int Prefetch { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? RemoteHost { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? RemoteUser { get; set; }
    [Parameter] [ValidateRange(1, 65535)] public int RemotePort { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? RemoteDirectory { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? KeyFile { get; set; }
    [Parameter] [ValidateNotNullOrEmpty] public string? KnownHostsFile { get; set; }
    /// <summary>Number of parallel senders (each with its own SFTP connection).</summary>
    [Parameter] [Alias("ThrottleLimit")] [ValidateRange(1, 64)] public int Senders { get; set; }
    [Parameter] public string[]? Include { get; set; }
    [Parameter] public string[]? Exclude { get; set; }
    [Parameter] public SwitchParameter ForwardDeletes { get; set; }
    [Parameter] public SwitchParameter RemoveAfterSend { get; set; }
    [Parameter] [ValidateRange(0.0, 86400.0)] public double SettleSeconds { get; set; }
    [Parameter] [ValidateRange(0.1, 86400.0)] public double RescanSeconds { get; set; }
    [Parameter] [ValidateRange(1, 1000)] public int MaxAttempts { get; set; }
    [Parameter] [ValidateSet("Sha512Sum", "ReadBack")] public string? Verify { get; set; }
    /// <summary>scp or rsync for files of at least -AcceleratorThresholdMiB (default 64); verification and rename stay on SFTP.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? Accelerator { get; set; }
    [Parameter] [ValidateRange(0.001, 1048576.0)] public double AcceleratorThresholdMiB { get; set; }
    [Parameter] public SwitchParameter AsJob { get; set; }

    protected override void EndProcessing()
    {
        HotDirectorySettings settings;
        try
        {
            settings = Build();
            settings.Validate();
        }
        catch (HpcException ex)
        {
            Fail(ex);
            return;
        }
        var action = settings.RemoveAfterSend ? "Deliver and then delete the files of" : "Deliver the files of";
        if (!ShouldProcess($"{settings.WatchDirectory} -> {settings.EffectiveRemoteUser}@{settings.RemoteHost}:{settings.RemoteDirectory}", action)) return;
        RunOrStartJob(AsJob, settings.WatchDirectory, async (sink, ct) =>
        {
            await HotDirectoryRunner.RunAsync(settings, sink, ct).ConfigureAwait(false);
            foreach (var row in HotDirectoryStatusReader.Read(settings.Name, settings.ResolvedStateDirectory)) sink.Output(row);
        }, settings.Name);
    }

    private HotDirectorySettings Build()
    {
        HotDirectorySettings s;
        if (ConfigPath is not null)
        {
            var path = ResolveOutputPath(ConfigPath) ?? throw new HpcException("InvalidPath", HpcErrorKind.InvalidArgument, $"'{ConfigPath}' is not a file-system path.", ConfigPath);
            s = HotDirectorySettings.Load(path);
        }
        else s = new HotDirectorySettings();
        var bound = MyInvocation.BoundParameters;
        string? P(string? p) => p is null ? null : ResolveOutputPath(p);
        if (Name is not null) s.Name = Name;
        if (WatchDirectory is not null) s.WatchDirectory = P(WatchDirectory) ?? WatchDirectory;
        if (StateDirectory is not null) s.StateDirectory = P(StateDirectory);
        if (BrokerUrl is not null) s.BrokerUrl = BrokerUrl.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : BrokerUrl;
        if (BrokerCredential is not null)
        {
            s.BrokerUser = BrokerCredential.UserName;
            s.BrokerPassword = BrokerCredential.GetNetworkCredential().Password;
        }
        if (CredentialsFile is not null) s.CredentialsFile = P(CredentialsFile);
        if (Exchange is not null) s.Exchange = Exchange;
        if (Queue is not null) s.Queue = Queue;
        if (bound.ContainsKey(nameof(Prefetch))) s.Prefetch = Prefetch;
        if (RemoteHost is not null) s.RemoteHost = RemoteHost;
        if (RemoteUser is not null) s.RemoteUser = RemoteUser;
        if (bound.ContainsKey(nameof(RemotePort))) s.RemotePort = RemotePort;
        if (RemoteDirectory is not null) s.RemoteDirectory = RemoteDirectory;
        if (KeyFile is not null) s.KeyFile = P(KeyFile);
        if (KnownHostsFile is not null) s.KnownHostsFile = P(KnownHostsFile);
        if (bound.ContainsKey(nameof(Senders))) s.Senders = Senders;
        if (Include is not null) s.Include = Include;
        if (Exclude is not null) s.Exclude = Exclude;
        if (bound.ContainsKey(nameof(ForwardDeletes))) s.ForwardDeletes = ForwardDeletes.IsPresent;
        if (bound.ContainsKey(nameof(RemoveAfterSend))) s.RemoveAfterSend = RemoveAfterSend.IsPresent;
        if (bound.ContainsKey(nameof(SettleSeconds))) s.SettleSeconds = SettleSeconds;
        if (bound.ContainsKey(nameof(RescanSeconds))) s.RescanSeconds = RescanSeconds;
        if (bound.ContainsKey(nameof(MaxAttempts))) s.MaxAttempts = MaxAttempts;
        if (Verify is not null) s.Verify = Verify;
        if (Accelerator is not null) s.Accelerator = Accelerator.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : Accelerator;
        if (bound.ContainsKey(nameof(AcceleratorThresholdMiB))) s.AcceleratorThresholdMiB = AcceleratorThresholdMiB;
        return s;
    }
}
