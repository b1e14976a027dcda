using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>Every parameter's gradient by name, for comparing two ways of computing a loss.</summary>
internal static class ParameterGradients
{
    /// <summary>Zeroes the gradients, backwards <paramref name="loss"/>'s result and returns a copy of every parameter's gradient.</summary>
    public static Dictionary<string, Tensor> Of(NewLlmModel model, Func<Tensor> loss)
    {
        model.zero_grad();
        loss().backward();
        return Snapshot(model);
    }

    /// <summary>A copy of every parameter's gradient (zeros where there is none).</summary>
    public static Dictionary<string, Tensor> Snapshot(NewLlmModel model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad is null ? zeros_like(p.parameter) : p.parameter.grad.clone());
}
