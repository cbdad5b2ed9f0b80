namespace HpcCampaign.Tests;

/// <summary>Test classes that use the one RabbitMQ broker of tests/services run one after another (xunit runs the
/// classes of a collection sequentially), because one of them stops and restarts the broker.</summary>
[CollectionDefinition(Name)]
public sealed class SharedBroker
{
    public const string Name = "Shared RabbitMQ broker";
}
