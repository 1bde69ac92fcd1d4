using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>What the hosting needs of a controller.</summary>
public interface IController
{
    string Name { get; }

    /// <summary>The informers the controller reads; it starts work only when all have synced.</summary>
    IReadOnlyList<IInformer> Informers { get; }

    /// <summary>
    /// Reconciles until <paramref name="cancellationToken"/> fires (in-flight reconciles may then finish within the drain
    /// deadline) or <paramref name="abortToken"/> fires (in-flight reconciles are cancelled at once).
    /// </summary>
    Task RunAsync(CancellationToken cancellationToken, CancellationToken abortToken = default);
}
