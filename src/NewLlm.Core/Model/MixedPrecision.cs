namespace NewLlm;

/// <summary>The mixed-precision rules every <see cref="LanguageModel"/> shares: which compute dtypes exist, and a Linear whose product runs in one.</summary>
internal static class MixedPrecision
{
    /// <summary>Returns <paramref name="value"/> when it is a supported <see cref="LanguageModel.ComputeDType"/> (null or bfloat16); throws otherwise.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static ScalarType? CheckComputeDType(ScalarType? value) =>
        value is null or ScalarType.BFloat16
            ? value
            : throw new ArgumentException($"ComputeDType {value} is not supported: use ScalarType.BFloat16 for mixed precision, or null to compute in the parameters' dtype."
                + (value == ScalarType.Float16 ? " (Float16 would need loss scaling, which this library does not do.)" : string.Empty), nameof(value));

    /// <summary>The product dtype of a model whose compute dtype is <paramref name="computeDType"/>: it while gradients are recorded, otherwise null (the parameters' dtype).</summary>
    public static ScalarType? ProductDType(ScalarType? computeDType) => torch.is_grad_enabled() ? computeDType : null;

    /// <summary>x W^T + b, the product in <paramref name="low"/> (through autograd's casts) and the bias added in the parameters' dtype; a plain Linear when <paramref name="low"/> is null or the weight's dtype.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, ScalarType? low)
    {
        if (low is not { } dtype || dtype == weight.dtype)
        {
            return torch.nn.functional.linear(x, weight, bias);
        }

        Tensor product = torch.nn.functional.linear(x.to_type(dtype), weight.to_type(dtype)).to_type(weight.dtype);
        return bias is null ? product : product.add_(bias, HeldScalars.One);
    }
}
