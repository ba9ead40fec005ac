"""The two providers, each through its official SDK (it signs the request: Aliyun ACS3-HMAC-SHA256, Tencent
TC3-HMAC-SHA256 — hand-rolled signing is where such integrations break).

`send(settings, phone, template, params, reference)` returns the provider's message id or raises ProviderError with
the provider's code. Endpoints can be pointed elsewhere with STORECRM_SMS_CN_ALIYUN_ENDPOINT /
STORECRM_SMS_CN_TENCENT_ENDPOINT (e.g. "http://127.0.0.1:8901": the tests' fake servers); an operator setting,
never a tenant's, so a tenant cannot make the server call into its network."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as dysms
from alibabacloud_dysmsapi20170525.client import Client as AliyunClient
from alibabacloud_tea_openapi import utils_models as openapi
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tc_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

TIMEOUT_S = 10


class ProviderError(Exception):
    def __init__(self, code: str, text: str = ""):
        super().__init__(f"{code}: {text}" if text else code)
        self.code, self.text = code, text


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str


def _endpoint(variable: str, default: str) -> Endpoint:
    raw = os.environ.get(variable) or default
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    return Endpoint(parts.scheme or "https", parts.netloc)


def mainland_digits(phone: str) -> str:
    """Aliyun's domestic numbers go without the country code; others as digits with it (no +)."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


def send_aliyun(settings: dict, phone: str, template: str, params: dict, reference: str) -> str:
    where = _endpoint("STORECRM_SMS_CN_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com")
    client = AliyunClient(openapi.Config(access_key_id=settings["access_key_id"],
                                         access_key_secret=settings["access_key_secret"],
                                         endpoint=where.host, protocol=where.scheme,
                                         connect_timeout=TIMEOUT_S * 1000, read_timeout=TIMEOUT_S * 1000))
    request = dysms.SendSmsRequest(phone_numbers=mainland_digits(phone), sign_name=settings["sign_name"],
                                   template_code=template, template_param=json.dumps(params, ensure_ascii=False),
                                   out_id=reference)
    try:
        body = client.send_sms(request).body
    except AlibabaCloudException as err:
        raise ProviderError(err.code or "Unknown", (err.data or {}).get("Message") or err.message or "") from err
    except Exception as err:  # connection refused, timeouts, a non-JSON 5xx: the provider is unreachable
        raise ProviderError("ClientNetworkError", str(err)[:200]) from err
    if body.code != "OK":
        raise ProviderError(body.code, body.message or "")
    return body.biz_id


def send_tencent(settings: dict, phone: str, template: str, params: list, reference: str) -> str:
    where = _endpoint("STORECRM_SMS_CN_TENCENT_ENDPOINT", "sms.tencentcloudapi.com")
    profile = ClientProfile(httpProfile=HttpProfile(protocol=where.scheme, endpoint=where.host,
                                                    reqTimeout=TIMEOUT_S))
    client = SmsClient(credential.Credential(settings["access_key_id"], settings["access_key_secret"]),
                       settings.get("tencent_region") or "ap-guangzhou", profile)
    request = tc_models.SendSmsRequest()
    request.PhoneNumberSet = [phone if phone.startswith("+") else f"+{phone}"]
    request.SmsSdkAppId = settings["tencent_sdk_app_id"]
    request.SignName = settings["sign_name"]
    request.TemplateId = template
    request.TemplateParamSet = [str(p) for p in params]
    request.SessionContext = reference
    try:
        response = client.SendSms(request)
    except TencentCloudSDKException as err:
        raise ProviderError(err.get_code() or "ClientNetworkError", err.get_message() or "") from err
    except Exception as err:
        raise ProviderError("ClientNetworkError", str(err)[:200]) from err
    status = (response.SendStatusSet or [None])[0]
    if status is None:
        raise ProviderError("InternalError", "empty SendStatusSet")
    if status.Code != "Ok":
        raise ProviderError(status.Code, status.Message or "")
    return status.SerialNo
