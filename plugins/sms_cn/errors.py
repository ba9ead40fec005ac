"""Provider error codes in words a store's admin understands, in Chinese and English.

Codes from Aliyun's SendSms error list (help.aliyun.com/zh/sms/developer-reference/api-error-codes) and Tencent
Cloud's SMS error list (cloud.tencent.com/document/api/382/55981). `retry`: whether waiting can help — a setting
the admin fixes (credentials, balance, signature) or a provider throttle is retried through the outbox; a message
that can never go (a bad number, a template missing variables) is dead at once."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorText:
    zh: str
    en: str
    retry: bool = True


ERRORS = {
    # Aliyun
    "isv.BUSINESS_LIMIT_CONTROL": ErrorText("触发阿里云业务流控：同一号码发送过于频繁（每分钟/小时/天有上限），稍后自动重试",
                                            "Aliyun flow control: too many texts to this number; retried later"),
    "isv.DAY_LIMIT_CONTROL": ErrorText("已达到阿里云当日发送上限", "Aliyun daily sending limit reached"),
    "isv.MOBILE_NUMBER_ILLEGAL": ErrorText("手机号码格式错误", "The mobile number is not valid", retry=False),
    "isv.MOBILE_COUNT_OVER_LIMIT": ErrorText("手机号码数量超过上限", "Too many mobile numbers", retry=False),
    "isv.TEMPLATE_MISSING_PARAMETERS": ErrorText("短信模板缺少变量：模板映射的变量与阿里云模板不一致",
                                                 "The template misses variables the Aliyun template needs",
                                                 retry=False),
    "isv.INVALID_JSON_PARAM": ErrorText("模板变量格式错误", "Template variables are not valid JSON", retry=False),
    "isv.PARAM_LENGTH_LIMIT": ErrorText("模板变量超出长度限制", "A template variable is too long", retry=False),
    "isv.AMOUNT_NOT_ENOUGH": ErrorText("阿里云账户余额不足，请充值", "The Aliyun account balance is too low: top it up"),
    "isv.SMS_TEMPLATE_ILLEGAL": ErrorText("阿里云短信模板不存在或未审核通过，请检查模板 CODE",
                                          "The Aliyun template does not exist or is not approved"),
    "isv.SMS_SIGNATURE_ILLEGAL": ErrorText("短信签名不存在或未审核通过，请检查签名名称",
                                           "The sign name does not exist or is not approved"),
    "isv.SMS_SIGN_ILLEGAL": ErrorText("短信签名不合法", "The sign name is not valid"),
    "isv.BLACK_KEY_CONTROL_LIMIT": ErrorText("短信内容含有禁止发送的关键字", "The text holds a forbidden keyword",
                                             retry=False),
    "isv.OUT_OF_SERVICE": ErrorText("阿里云短信业务已停机（欠费）", "Aliyun SMS is suspended (unpaid)"),
    "isv.ACCOUNT_NOT_EXISTS": ErrorText("阿里云账户不存在", "The Aliyun account does not exist"),
    "isv.ACCOUNT_ABNORMAL": ErrorText("阿里云账户异常", "The Aliyun account is abnormal"),
    "isv.DENY_IP_RANGE": ErrorText("来源 IP 不在阿里云白名单内", "The sending address is not on the Aliyun allow list"),
    "isp.SYSTEM_ERROR": ErrorText("阿里云系统错误，稍后自动重试", "Aliyun system error; retried later"),
    "InvalidAccessKeyId.NotFound": ErrorText("AccessKey ID 不存在，请检查凭据", "The AccessKey ID does not exist"),
    "InvalidAccessKeyId.Inactive": ErrorText("AccessKey 已被禁用", "The AccessKey is disabled"),
    "SignatureDoesNotMatch": ErrorText("AccessKey Secret 错误（签名不匹配），请检查凭据",
                                       "The AccessKey secret is wrong (signature mismatch)"),
    "IncompleteSignature": ErrorText("AccessKey Secret 错误（签名不匹配），请检查凭据",
                                     "The AccessKey secret is wrong (signature mismatch)"),
    "Forbidden.RAM": ErrorText("该 AccessKey 无短信发送权限（RAM 授权）", "This AccessKey may not send SMS (RAM)"),
    "Throttling.User": ErrorText("请求过于频繁，稍后自动重试", "Too many requests; retried later"),
    # Tencent Cloud
    "AuthFailure.SecretIdNotFound": ErrorText("SecretId 不存在，请检查凭据", "The SecretId does not exist"),
    "AuthFailure.SignatureFailure": ErrorText("SecretKey 错误（签名校验失败），请检查凭据",
                                              "The SecretKey is wrong (signature check failed)"),
    "AuthFailure.SignatureExpire": ErrorText("签名过期：服务器时间不准", "Signature expired: the server clock is off"),
    "AuthFailure.UnauthorizedOperation": ErrorText("该密钥无短信发送权限（CAM 授权）",
                                                   "This key may not send SMS (CAM)"),
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": ErrorText("短信应用 SDK AppID 校验失败",
                                                             "The SMS SdkAppId check failed"),
    "InvalidParameterValue.SdkAppIdNotExist": ErrorText("短信应用 SDK AppID 不存在", "The SMS SdkAppId does not exist"),
    "FailedOperation.SignatureIncorrectOrUnapproved": ErrorText("短信签名不存在或未审核通过",
                                                                "The sign name is wrong or not approved"),
    "FailedOperation.TemplateIncorrectOrUnapproved": ErrorText("腾讯云短信模板不存在或未审核通过",
                                                               "The Tencent template is wrong or not approved"),
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": ErrorText(
        "模板变量个数与审核通过的模板不一致", "The variables do not match the approved template", retry=False),
    "FailedOperation.InsufficientBalanceInSmsPackage": ErrorText("腾讯云短信套餐包余量不足，请购买",
                                                                 "The Tencent SMS package is used up"),
    "FailedOperation.PhoneNumberInBlacklist": ErrorText("该号码已退订或在黑名单中", "The number unsubscribed or is blocked",
                                                        retry=False),
    "FailedOperation.ContainSensitiveWord": ErrorText("短信内容含有敏感词", "The text holds a sensitive word",
                                                      retry=False),
    "FailedOperation.MissingSignature": ErrorText("缺少短信签名", "The sign name is missing"),
    "InvalidParameterValue.IncorrectPhoneNumber": ErrorText("手机号码格式错误", "The mobile number is not valid",
                                                            retry=False),
    "InvalidParameterValue.TemplateParameterFormatError": ErrorText("模板变量格式错误（验证码类模板只能是数字）",
                                                                    "A template variable has the wrong format",
                                                                    retry=False),
    "InvalidParameterValue.TemplateParameterLengthLimit": ErrorText("模板变量超出长度限制",
                                                                    "A template variable is too long", retry=False),
    "LimitExceeded.PhoneNumberThirtySecondLimit": ErrorText("同一号码 30 秒内发送过于频繁，稍后自动重试",
                                                            "Too many texts to this number in 30 s; retried later"),
    "LimitExceeded.PhoneNumberOneHourLimit": ErrorText("同一号码 1 小时内发送达到上限",
                                                       "Hourly limit for this number reached"),
    "LimitExceeded.PhoneNumberDailyLimit": ErrorText("同一号码当日发送达到上限", "Daily limit for this number reached"),
    "LimitExceeded.DeliveryFrequencyLimit": ErrorText("发送频率超过腾讯云限制", "Tencent frequency limit reached"),
    "RequestLimitExceeded": ErrorText("请求过于频繁，稍后自动重试", "Too many requests; retried later"),
    "InternalError": ErrorText("腾讯云内部错误，稍后自动重试", "Tencent internal error; retried later"),
    "ClientNetworkError": ErrorText("无法连接短信服务商，稍后自动重试", "Could not reach the provider; retried later"),
    # delivery receipts (运营商回执)
    "DELIVERED": ErrorText("用户接收成功", "Delivered"),
    "DELIVRD": ErrorText("用户接收成功", "Delivered"),
    "UNDELIV": ErrorText("运营商未能送达（关机、停机或空号）", "Not delivered by the carrier (off, suspended or unused)",
                         retry=False),
    "MK:0001": ErrorText("运营商未能送达（关机、停机或空号）", "Not delivered by the carrier (off, suspended or unused)",
                         retry=False),
    "IC:0015": ErrorText("号码为空号或已停机", "The number is unused or suspended", retry=False),
    "MK:0008": ErrorText("用户已退订或拒收", "The customer unsubscribed or refused", retry=False),
}

UNKNOWN = ErrorText("服务商返回错误", "The provider returned an error")


def describe(code: str | None, provider_text: str | None = None) -> ErrorText:
    """The known text of `code`; an unknown one keeps the provider's own words beside a generic sentence."""
    known = ERRORS.get(code or "")
    if known is not None:
        return known
    extra = f"：{provider_text}" if provider_text else ""
    return ErrorText(UNKNOWN.zh + extra, UNKNOWN.en + (f": {provider_text}" if provider_text else ""))
