namespace NewLlm;

/// <summary>
/// The scalars the library passes to libtorch (an <c>add_</c>'s alpha, a clamp's bounds, ...), held for as long as the
/// process runs; a value known only at run time is made with <c>ToScalar()</c> and held by the caller (<c>using</c>)
/// for as long as it calls with it.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns a .NET number passed where a <see cref="Scalar"/> is taken (and the alpha of
/// <c>a.add(b)</c>, <c>a + b</c>, <c>a.add_(b)</c>, which it fills in as 1) into a native scalar whose only owner is a
/// temporary wrapper with a finalizer. Once the wrapper's handle has been read the wrapper is garbage, and a collection
/// started by another thread meanwhile can free the native scalar while libtorch still reads it: seen here as "Expected
/// false to be true ... toFloat" from an <c>add_</c> on the bf16 backward's row threads, and from the <c>add</c> of
/// <see cref="ContextRecurrence.Reference"/> while generating, with tests running on other threads (TorchSharp pull
/// requests 1434 and 1496, open, dispose such scalars). A held scalar is freed only when its holder is done, and
/// libtorch only reads it, so one can serve every thread.
/// </remarks>
internal static class HeldScalars
{
    /// <summary>1: the alpha of an addition, the value of an <c>addcmul_</c> that adds.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>-1: the value of an <c>addcmul_</c> that subtracts.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>NaN: what a gradient that can no longer be formed is filled with.</summary>
    public static readonly Scalar NaN = double.NaN.ToScalar();

    /// <summary><see cref="NewLlmModel.ContextClampMin"/>.</summary>
    public static readonly Scalar ContextClampMin = NewLlmModel.ContextClampMin.ToScalar();

    /// <summary><see cref="NewLlmModel.ContextClampMax"/>.</summary>
    public static readonly Scalar ContextClampMax = NewLlmModel.ContextClampMax.ToScalar();

    /// <summary><see cref="ContextRecurrence.LayerNormEps"/>.</summary>
    public static readonly Scalar LayerNormEps = ContextRecurrence.LayerNormEps.ToScalar();
}
