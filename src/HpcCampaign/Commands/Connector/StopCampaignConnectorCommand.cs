using System.Management.Automation;
using HpcCampaign.Engine.Connector;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Connector;

/// <summary>
/// <para type="synopsis">Stops campaign connectors of this PowerShell session: closes their tunnels and SSH sessions and forgets their keys.</para>
/// Without -Port every connector of the session stops. A connector of another process is an error
/// (ConnectorInOtherProcess): stop it in that process.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "CampaignConnector", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CampaignConnectorInfo))]
public sealed class StopCampaignConnectorCommand : HpcCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int[]? Port { get; set; }

    /// <summary>Write the stopped connector.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (Port is null)
        {
            foreach (var connector in ConnectorRegistry.InProcess) Stop(connector);
            return;
        }
        foreach (var port in Port)
        {
            var connector = ConnectorRegistry.Find(port);
            if (connector is not null)
            {
                Stop(connector);
                continue;
            }
            var other = ConnectorRegistry.OtherProcesses().FirstOrDefault(c => c.Port == port);
            WriteHpcError(other is not null
                ? new HpcException("ConnectorInOtherProcess", HpcErrorKind.InvalidOperation,
                    $"The connector on 127.0.0.1:{port} runs in process {other.ProcessId}, not in this session; stop it there.", port)
                : new HpcException("ConnectorNotFound", HpcErrorKind.ObjectNotFound, $"No campaign connector runs on 127.0.0.1:{port}.", port));
        }
    }

    private void Stop(CampaignConnector connector)
    {
        if (!ShouldProcess($"127.0.0.1:{connector.Port}", "Stop campaign connector")) return;
        if (!connector.StopAsync().Wait(TimeSpan.FromSeconds(60)))
        {
            WriteHpcError(new HpcException("ConnectorStopTimeout", HpcErrorKind.OperationTimeout,
                $"The connector on 127.0.0.1:{connector.Port} did not stop within 60 s.", connector.Port));
            return;
        }
        WriteVerbose($"Stopped the campaign connector on 127.0.0.1:{connector.Port}.");
        if (PassThru) WriteObject(connector.Snapshot());
    }
}
