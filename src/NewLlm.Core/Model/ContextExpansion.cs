namespace NewLlm;

/// <summary>How <see cref="NewLlmModel.ExpandContext"/> fills the new context dimensions.</summary>
public enum ContextExpansion
{
    /// <summary>
    /// The original's <c>expand_context_vector_weights</c>: old weights copied, the new context columns of the first
    /// layer and the new rows and biases of the context update and both gates zero, the new LayerNorm weights 1 and biases
    /// 0. It does not preserve the model's function (LayerNorm now normalises over more dimensions): the validation loss
    /// jumps after expansion.
    /// </summary>
    Original,

    /// <summary>
    /// Net2WiderNet replication: each context dimension copied k = new / old times (rows of the context update and both
    /// gates, LayerNorm weight and bias), the first layer's context columns divided by k across the copies. The expanded
    /// model computes the same logits (to float rounding). The new size must be a multiple of the old one.
    /// </summary>
    Replicate,
}
