using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>What the hosting needs of a controller.</summary>
public interface IController
{
    string Name { get; }

    /// <summary>The informers the controller reads; it starts work only when all have synced.</summary>
    IReadOnlyList<IInformer> Informers { get; }

    Task RunAsync(CancellationToken cancellationToken);
}
