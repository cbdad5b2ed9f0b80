using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Config;
using HpcCampaign.Engine.Connector;
using HpcCampaign.Engine.Transfer;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Connector;

/// <summary>
/// <para type="synopsis">Starts the campaign connector on 127.0.0.1 (port 30000 for ADIOS2): SSH tunnels to the hosts of hosts.yaml and decryption keys by id.</para>
/// In the foreground it runs until Ctrl+C; with -AsJob it returns a job (Stop-Job or Stop-CampaignConnector stop it).
/// Passwords are asked for before it starts: a job cannot prompt.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "CampaignConnector", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CampaignConnectorInfo), typeof(HpcJob))]
public sealed class StartCampaignConnectorCommand : HpcCmdlet
{
    /// <summary>The port on 127.0.0.1. ADIOS2 asks localhost:30000.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = ConnectorOptions.DefaultPort;

    /// <summary>hosts.yaml; default ~/.config/hpc-campaign/hosts.yaml.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? HostsFile { get; set; }

    /// <summary>The folder whose key files are served; default ~/.config/hpc-campaign/keys.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? KeysDirectory { get; set; }

    /// <summary>known_hosts files for SSH host keys; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? KnownHostsFile { get; set; }

    /// <summary>User and password (or passcode) for hosts with password/passcode authentication; also the passphrase of a protected identity file.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The password of the protected key files; prompted once when some are protected and it is missing.</summary>
    [Parameter]
    public SecureString? KeyPassword { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void EndProcessing()
    {
        var hostsFile = HostsFile is null ? ConfigPaths.HostsFile : ResolveOutputPath(HostsFile);
        var keysDirectory = KeysDirectory is null ? ConfigPaths.KeysDirectory : ResolveOutputPath(KeysDirectory);
        if (hostsFile is null || keysDirectory is null) return;
        if (HostsFile is not null && !File.Exists(hostsFile))
        {
            WriteHpcError(new HpcException("HostsFileNotFound", HpcErrorKind.ObjectNotFound, $"Hosts file '{hostsFile}' does not exist.", hostsFile));
            return;
        }
        if (KeysDirectory is not null && !Directory.Exists(keysDirectory))
        {
            WriteHpcError(new HpcException("KeysDirectoryNotFound", HpcErrorKind.ObjectNotFound, $"Keys folder '{keysDirectory}' does not exist.", keysDirectory));
            return;
        }
        IReadOnlyList<string> knownHosts = KnownHosts.DefaultFiles;
        if (KnownHostsFile is not null)
        {
            var resolved = ResolveExistingPaths(KnownHostsFile, literal: true);
            if (resolved.Count != KnownHostsFile.Length) return;
            knownHosts = resolved;
        }
        HostsConfig? hosts = null;
        if (!TryEngine(() => hosts = HostsConfig.Load(hostsFile), hostsFile) || hosts is null) return;

        var target = $"127.0.0.1:{Port}";
        if (!ShouldProcess(target, "Start campaign connector")) return;

        var keyPassword = KeyPassword;
        if (keyPassword is null && KeyStore.ProtectedKeyFiles(keysDirectory).Count > 0)
            keyPassword = PromptSecure($"Password for the protected key(s) in {keysDirectory}");
        var credential = Credential ?? PromptForSshCredential(hosts);

        var keyPasswordBytes = SecureToUtf8(keyPassword);
        var sshPassword = SecureToUtf8(credential?.Password);
        CampaignConnector connector;
        try
        {
            var options = new ConnectorOptions
            {
                Port = Port,
                HostsFile = hostsFile,
                KeysDirectory = keysDirectory,
                KnownHostsFiles = knownHosts,
                SshUser = string.IsNullOrEmpty(credential?.UserName) ? null : credential!.UserName,
                SshPassword = sshPassword.Length > 0 ? sshPassword : null,
                LogRequests = VerboseEnabled,
            };
            connector = CampaignConnector.Start(options, keyPasswordBytes, PipelineSink);
        }
        catch (HpcException ex)
        {
            DrainAvailable();
            WriteHpcError(ex);
            return;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyPasswordBytes);
            CryptographicOperations.ZeroMemory(sshPassword);
        }
        DrainAvailable();

        Func<IHpcSink, CancellationToken, Task> serve = async (sink, ct) =>
        {
            sink.Output(connector.Snapshot());
            sink.Verbose($"Campaign connector listening on 127.0.0.1:{connector.Port} ({connector.Snapshot().KeyIds.Count} key(s)); " +
                         (AsJob ? "Stop-Job or Stop-CampaignConnector stops it." : "Ctrl+C stops it."));
            await connector.RunAsync(sink, ct).ConfigureAwait(false);
        };
        if (AsJob)
        {
            WriteObject(HpcJob.Start(this, target, serve, $"CampaignConnector-{connector.Port}"));
            return;
        }
        try
        {
            RunWork(serve, target);
        }
        finally
        {
            // Ctrl+C or an error: the connector must not outlive the command that runs it in the foreground
            connector.StopAsync().Wait(TimeSpan.FromSeconds(30));
        }
    }

    private bool VerboseEnabled =>
        MyInvocation.BoundParameters.TryGetValue("Verbose", out var v)
            ? ((SwitchParameter)v).ToBool()
            : GetVariableValue("VerbosePreference") is ActionPreference p && p is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);

    /// <summary>Asks once for the SSH password when hosts.yaml has services with password or passcode authentication.</summary>
    private PSCredential? PromptForSshCredential(HostsConfig hosts)
    {
        var services = hosts.Hosts.SelectMany(h => h.Services.Select(s => (Host: h, Service: s)))
            .Where(x => x.Service.Protocol is "ssh" or "ssh_tunnel" && x.Service.Authentication is "password" or "passcode")
            .ToList();
        if (services.Count == 0) return null;
        var names = string.Join(", ", services.Select(x => $"{x.Host.Name}/{x.Service.Name}"));
        var user = services.Select(x => x.Service.User).FirstOrDefault(u => !string.IsNullOrEmpty(u)) ?? Environment.UserName;
        try
        {
            var credential = Host.UI.PromptForCredential("Campaign connector",
                $"Password or passcode for the SSH services that use it ({names}).", user, "");
            if (credential is not null) return credential;
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or NotImplementedException or System.Management.Automation.Host.HostException or InvalidOperationException)
        {
            WriteVerbose($"Cannot prompt for a password here: {ex.Message}");
        }
        WriteWarning($"No credential: {names} will answer cannot_connect_to_remote_server. Give -Credential to use them.");
        return null;
    }
}
