using System.Management.Automation;
using HpcCampaign.Engine.Connector;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Connector;

/// <summary>
/// <para type="synopsis">Shows the running campaign connectors: port, tunnels (host, ports, bytes, age) and the ids of the keys they serve.</para>
/// Connectors of this PowerShell session come with their tunnels and key ids; a connector running in another process
/// is seen through its state file (State RunningInOtherProcess, no tunnels or keys).
/// </summary>
[Cmdlet(VerbsCommon.Get, "CampaignConnector")]
[OutputType(typeof(CampaignConnectorInfo))]
public sealed class GetCampaignConnectorCommand : HpcCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int[]? Port { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<CampaignConnectorInfo> all = Array.Empty<CampaignConnectorInfo>();
        if (!TryEngine(() => all = ConnectorRegistry.All(), null)) return;
        if (Port is null)
        {
            foreach (var c in all) Write(c);
            return;
        }
        foreach (var port in Port)
        {
            var match = all.FirstOrDefault(c => c.Port == port);
            if (match is null)
                WriteHpcError(new HpcException("ConnectorNotFound", HpcErrorKind.ObjectNotFound, $"No campaign connector runs on 127.0.0.1:{port}.", port));
            else
                Write(match);
        }
    }

    private void Write(CampaignConnectorInfo c)
    {
        if (!c.IsCurrentProcess)
            WriteVerbose($"The connector on 127.0.0.1:{c.Port} runs in another process ({c.ProcessId}); its tunnels and keys are not visible from here.");
        WriteObject(c);
    }
}
