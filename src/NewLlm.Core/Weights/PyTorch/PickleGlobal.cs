namespace NewLlm;

/// <summary>A global (class or function) a pickle names; never resolved to code.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    /// <summary><c>module.name</c>.</summary>
    public string FullName => $"{Module}.{Name}";
}

/// <summary>
/// An instance of a class, or the result of a function, that the reader does not build (the original's
/// <c>__main__.HHRLHFTrainConfig</c>, a pickled module): its global, its arguments and the state BUILD gave it.
/// </summary>
internal sealed class PickledObject(PickleGlobal type, object?[] arguments)
{
    public PickleGlobal Type => type;

    public object?[] Arguments => arguments;

    /// <summary>Its state (usually a dict of attributes), or null.</summary>
    public object? State { get; set; }
}
